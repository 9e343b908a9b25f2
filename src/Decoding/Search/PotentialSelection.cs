namespace Var.Decoding.Search;

/// <summary>How a candidate's potential is computed from its rewards along the path (tts-var.md §3).</summary>
public enum Potential
{
    /// <summary>exp(λ·r_t): the current reward (the reference's default).</summary>
    Value,

    /// <summary>exp(λ·(r_t − r_{t−1})): the growth since the previous resampling.</summary>
    Diff,

    /// <summary>exp(λ·(r_t + Σ r_j)): the sum over the path's resamplings.</summary>
    Sum,

    /// <summary>exp(λ·max(r_t, r_j)): the best reward on the path.</summary>
    Max,
}

/// <summary>
/// Resampling-based potential selection (tts-var.md §3): weights exp(λ·potential), sanitised, and a multinomial draw
/// with replacement of the next candidate count; duplicates continue independently (the session forks their generators).
/// </summary>
public static class PotentialSelection
{
    /// <summary>
    /// The potential of a candidate with <paramref name="current"/> reward and the rewards recorded at earlier resampling
    /// scales (<paramref name="history"/>, oldest first). The first resampling always uses the value.
    /// </summary>
    public static double Of(Potential potential, double current, IReadOnlyList<double> history)
    {
        if (history.Count == 0) return current;
        return potential switch
        {
            Potential.Value => current,
            Potential.Diff => current - history[^1],
            Potential.Sum => current + history.Sum(),
            Potential.Max => Math.Max(current, history.Max()),
            _ => throw new ArgumentOutOfRangeException(nameof(potential), potential, null),
        };
    }

    /// <summary>
    /// Normalised weights softmax(λ·p) computed stably; NaN potentials get weight 0, and all-invalid input falls back to
    /// uniform weights (the reference's sanitising, §3 step 2).
    /// </summary>
    public static double[] Weights(IReadOnlyList<double> potentials, double lambda)
    {
        var finite = potentials.Where(double.IsFinite).ToArray();
        var pinned = potentials.Select(p => double.IsPositiveInfinity(p) ? 1.0 : 0.0).ToArray();
        if (pinned.Sum() > 0) return Normalise(pinned);
        if (finite.Length == 0) return Normalise(potentials.Select(_ => 1.0).ToArray());
        double max = finite.Max();
        var w = potentials.Select(p => double.IsFinite(p) ? Math.Exp(lambda * (p - max)) : 0.0).ToArray();
        return w.Sum() > 0 ? Normalise(w) : Normalise(potentials.Select(_ => 1.0).ToArray());
    }

    /// <summary>Effective sample size (Σw)²/Σw² of normalised weights: n for uniform, 1 for a point mass.</summary>
    public static double EffectiveSampleSize(IReadOnlyList<double> weights) => 1.0 / weights.Sum(w => w * w);

    /// <summary><paramref name="count"/> indices drawn with replacement by <paramref name="weights"/>, ascending.</summary>
    internal static int[] Draw(IReadOnlyList<double> weights, int count, SearchRandom random) =>
        Enumerable.Range(0, count).Select(_ => random.Categorical(weights)).Order().ToArray();

    private static double[] Normalise(double[] w)
    {
        double s = w.Sum();
        return w.Select(x => x / s).ToArray();
    }
}
