namespace Var.Decoding.Search;

/// <summary>
/// How many candidates a search keeps per request at each scale (tts-var.md §1: a descending batch schedule). A shape
/// (relative candidates per scale, non-increasing, dropping only after a selection scale) is scaled by the largest
/// factor whose transformer work — candidates × tokens summed over the scales — stays within the budget N times one
/// plain sample. Budget 1 is therefore plain sampling (one candidate everywhere), and best-of-N of equal work draws N
/// full samples.
/// </summary>
public sealed record SearchSchedule
{
    private SearchSchedule(IReadOnlyList<int> candidates, IReadOnlyList<int> tokensPerScale)
    {
        Candidates = candidates;
        long plain = tokensPerScale.Sum(t => (long)t);
        Work = candidates.Select((c, si) => (long)c * tokensPerScale[si]).Sum() / (double)plain;
    }

    /// <summary>Candidates drawn at each scale per request (the survivors after scale si are Candidates[si + 1]).</summary>
    public IReadOnlyList<int> Candidates { get; }

    /// <summary>Transformer work (tokens through the model) as a multiple of one plain sample.</summary>
    public double Work { get; }

    /// <summary>Candidates at scale 0: the rows one request occupies at its widest.</summary>
    public int Widest => Candidates[0];

    /// <summary>Survivors after scale <paramref name="si"/> (1 after the last: the final best-of).</summary>
    public int SurvivorsAfter(int si) => si + 1 < Candidates.Count ? Candidates[si + 1] : 1;

    /// <summary>
    /// Scales <paramref name="shape"/> (relative candidates per scale) to <paramref name="budget"/>. Throws
    /// <see cref="ArgumentException"/> for a shape of the wrong length, one that grows, or a budget below 1.
    /// </summary>
    public static SearchSchedule ForBudget(IReadOnlyList<double> shape, IReadOnlyList<int> patchNums, double budget)
    {
        if (budget < 1) throw new ArgumentOutOfRangeException(nameof(budget), budget, "the budget must be at least 1 (one plain sample)");
        if (shape.Count != patchNums.Count) throw new ArgumentException($"the schedule shape has {shape.Count} entries for {patchNums.Count} scales", nameof(shape));
        for (int si = 0; si < shape.Count; si++)
        {
            if (!(shape[si] > 0)) throw new ArgumentException($"schedule shape entry {si} is {shape[si]}; every entry must be > 0", nameof(shape));
            if (si > 0 && shape[si] > shape[si - 1]) throw new ArgumentException($"the schedule shape must not grow (scale {si}: {shape[si]} after {shape[si - 1]})", nameof(shape));
        }
        var tokens = patchNums.Select(p => p * p).ToArray();
        var best = new SearchSchedule(Enumerable.Repeat(1, shape.Count).ToArray(), tokens);
        // The work grows with the factor; scan upwards in steps of 1/64 of the shape's first entry until it no longer fits.
        double step = 1.0 / (64 * shape[0]);
        for (int i = 1; i < 1_000_000; i++)
        {
            var next = new SearchSchedule(Scale(shape, i * step), tokens);
            if (next.Work > budget + 1e-9) break;
            best = next;
        }
        return best;
    }

    /// <summary>The schedule with exactly <paramref name="candidates"/> per scale (validated: ≥ 1, non-increasing).</summary>
    public static SearchSchedule Exact(IReadOnlyList<int> candidates, IReadOnlyList<int> patchNums)
    {
        if (candidates.Count != patchNums.Count) throw new ArgumentException($"{candidates.Count} candidate counts for {patchNums.Count} scales", nameof(candidates));
        for (int si = 0; si < candidates.Count; si++)
        {
            if (candidates[si] < 1) throw new ArgumentException($"candidates at scale {si} is {candidates[si]}; must be ≥ 1", nameof(candidates));
            if (si > 0 && candidates[si] > candidates[si - 1]) throw new ArgumentException($"candidates must not grow (scale {si}: {candidates[si]} after {candidates[si - 1]})", nameof(candidates));
        }
        return new SearchSchedule(candidates.ToArray(), patchNums.Select(p => p * p).ToArray());
    }

    private static int[] Scale(IReadOnlyList<double> shape, double factor) =>
        shape.Select(s => Math.Max(1, (int)Math.Round(s * factor, MidpointRounding.AwayFromZero))).ToArray();
}
