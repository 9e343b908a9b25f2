// Trainers seed torch's process-global generator per step (StepSeed), so tests that compare runs must not interleave
// with other tests drawing random numbers.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
