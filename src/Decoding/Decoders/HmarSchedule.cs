namespace Var.Decoding.Decoders;

/// <summary>
/// HMAR's masked-step schedule (hmar.md §3, "Schedule format"): for every scale, the tokens each pass fixes, the first
/// pass being the next-scale prediction and the others masked steps inside the scale. The reference default for 256²
/// is [[1],[1,3],[1,1,2,5],[16],…]: 2 passes at 2×2, 4 at 3×3, 1 everywhere else.
/// </summary>
public sealed record HmarSchedule
{
    /// <summary>The reference default's passes per scale (hmar.md §3): 1, 2, 4, then 1 on every finer scale.</summary>
    public static readonly int[] ReferencePasses = [1, 2, 4];

    private HmarSchedule(IReadOnlyList<int[]> tokensPerPass) => TokensPerPass = tokensPerPass;

    /// <summary>Per scale, the tokens fixed by each pass (they sum to the scale's pn²).</summary>
    public IReadOnlyList<int[]> TokensPerPass { get; }

    /// <summary>Passes per scale (1 = the next-scale pass alone).</summary>
    public IReadOnlyList<int> Passes => TokensPerPass.Select(t => t.Length).ToArray();

    /// <summary>The reference default for <paramref name="patchNums"/> (passes capped at each scale's token count).</summary>
    public static HmarSchedule Default(IReadOnlyList<int> patchNums) =>
        FromPasses(patchNums.Select((pn, si) => Math.Min(si < ReferencePasses.Length ? ReferencePasses[si] : 1, pn * pn)).ToArray(), patchNums);

    /// <summary>
    /// A schedule of <paramref name="passes"/> per scale (the CLI's <c>--steps</c>, the service's
    /// <c>steps_per_scale</c>), each scale's pn² tokens split so that each pass fixes about twice as many as the one
    /// before (cumulative rounding, at least one each). This gives the reference's own lists: [1,3] for 2 passes on
    /// 2×2, [1,1,2,5] for 4 and [1,3,5] for 3 on 3×3 (hmar.md §3), [5,11] for 2 on 4×4. Throws
    /// <see cref="ArgumentException"/> naming <c>steps_per_scale</c> for a list of the wrong length, a pass count below
    /// 1, or more passes than a scale has tokens.
    /// </summary>
    public static HmarSchedule FromPasses(IReadOnlyList<int> passes, IReadOnlyList<int> patchNums)
    {
        if (passes.Count != patchNums.Count)
            throw new ArgumentException($"steps_per_scale has {passes.Count} entries; the model has {patchNums.Count} scales ({string.Join(",", patchNums.Select(p => $"{p}×{p}"))})");
        var lists = new int[passes.Count][];
        for (int si = 0; si < passes.Count; si++)
        {
            int s = passes[si], l = patchNums[si] * patchNums[si];
            if (s < 1) throw new ArgumentException($"steps_per_scale[{si}] is {s}; every scale needs at least 1 pass (the next-scale pass)");
            if (s > l) throw new ArgumentException($"steps_per_scale[{si}] is {s}, more passes than scale {si} ({patchNums[si]}×{patchNums[si]}) has tokens ({l})");
            lists[si] = Split(l, s);
        }
        return new HmarSchedule(lists);
    }

    /// <summary>A schedule given as token counts per pass (the reference's <c>mask_schedule</c> format).</summary>
    public static HmarSchedule FromTokenCounts(IReadOnlyList<int[]> tokensPerPass, IReadOnlyList<int> patchNums)
    {
        if (tokensPerPass.Count != patchNums.Count)
            throw new ArgumentException($"the mask schedule has {tokensPerPass.Count} entries; the model has {patchNums.Count} scales");
        for (int si = 0; si < patchNums.Count; si++)
        {
            int l = patchNums[si] * patchNums[si];
            var t = tokensPerPass[si];
            if (t.Length < 1 || t.Any(n => n < 1) || t.Sum() != l)
                throw new ArgumentException($"mask schedule [{si}] = [{string.Join(",", t)}]: needs positive counts summing to the scale's {l} tokens");
        }
        return new HmarSchedule(tokensPerPass.Select(t => t.ToArray()).ToArray());
    }

    private static int[] Split(int l, int s)
    {
        var counts = new int[s];
        int done = 0;
        for (int j = 0; j < s; j++)
        {
            // Share of the first j + 1 passes under weights 1, 2, 4, …: (2^(j+1) − 1)/(2^s − 1), written to stay finite.
            double share = Math.Pow(2, j + 1 - s) * (1 - Math.Pow(2, -(j + 1))) / (1 - Math.Pow(2, -s));
            int end = j == s - 1 ? l : (int)Math.Round(l * share, MidpointRounding.AwayFromZero);
            end = Math.Clamp(end, done + 1, l - (s - 1 - j));
            counts[j] = end - done;
            done = end;
        }
        return counts;
    }

    /// <summary>Compact text for batch keys and logs: the token counts per pass of every scale.</summary>
    public override string ToString() => string.Join(";", TokensPerPass.Select(t => string.Join(",", t)));
}
