using Var.Decoding.Sampling;

namespace Var.Decoding.Search;

/// <summary>
/// The search's own small generator (SplitMix64) for its selections — k-means++ seeding and the resampling draw. One is
/// made per request and selection scale from the request's seed, so a selection does not depend on the batch.
/// </summary>
internal sealed class SearchRandom(long seed)
{
    private ulong state = (ulong)seed;

    /// <summary>The generator for the selection of request seed <paramref name="seed"/> after scale <paramref name="si"/>.</summary>
    public static SearchRandom For(long seed, int si) => new(RowRandom.Mix(seed, 0x5EA4C4L + si));

    /// <summary>A uniform in [0, 1).</summary>
    public double NextDouble()
    {
        ulong z = unchecked(state += 0x9E3779B97F4A7C15UL);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        z ^= z >> 31;
        return (z >> 11) * (1.0 / (1UL << 53));
    }

    /// <summary>An index drawn with probability proportional to <paramref name="weights"/> (≥ 0, not all 0).</summary>
    public int Categorical(IReadOnlyList<double> weights)
    {
        double total = weights.Sum(), u = NextDouble() * total, acc = 0;
        for (int i = 0; i < weights.Count; i++)
        {
            acc += weights[i];
            if (u < acc && weights[i] > 0) return i;
        }
        for (int i = weights.Count - 1; i >= 0; i--)
            if (weights[i] > 0) return i;
        return weights.Count - 1;
    }
}
