// Tests here seed torch's global generator (manual_seed) before building models; building a model in a parallel test
// would draw from the same generator, so the assembly runs its tests one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
