namespace Var.Training.Runs;

/// <summary>
/// Linear warm-up, constant peak, then linear decay to a fraction of the peak (var.md §4 'lin0'-like; calibration.md §1, §3).
/// </summary>
public sealed record LrSchedule(double Peak, long WarmupSteps, long TotalSteps, double DecayStart, double FinalFraction)
{
    /// <summary>Schedule of a run's options.</summary>
    public static LrSchedule From(RunOptions o) => new(o.LearningRate, o.WarmupSteps, o.Steps, o.DecayStart, o.FinalLrFraction);

    /// <summary>Learning rate of the 0-based <paramref name="step"/>.</summary>
    public double At(long step)
    {
        // var.md §4: the warm-up starts at 0.5 % of the peak.
        if (step < WarmupSteps) return Peak * (0.005 + 0.995 * step / WarmupSteps);
        long decayFrom = (long)(DecayStart * TotalSteps);
        if (step < decayFrom || TotalSteps <= decayFrom) return Peak;
        double t = Math.Min(1.0, (step - decayFrom) / (double)(TotalSteps - decayFrom));
        return Peak * (1 - t * (1 - FinalFraction));
    }
}
