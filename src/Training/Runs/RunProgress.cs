namespace Var.Training.Runs;

/// <summary>Where a run stands: the next step to take, samples seen and accumulated training wall time.</summary>
public sealed record RunProgress(long Step, long SamplesSeen, double WallSeconds, bool Finished);
