using Var.Decoding.Sampling;

namespace Var.Decoding.Tests;

public class LogitFilterTests
{
    /// <summary>The reference algorithm in plain doubles, one row.</summary>
    private static bool[] ReferenceKeep(float[] logits, int k, double p)
    {
        int v = logits.Length;
        var masked = logits.Select(x => (double)x).ToArray();
        if (k > 0)
        {
            double thr = logits.OrderByDescending(x => x).ElementAt(Math.Min(k, v) - 1);
            for (int i = 0; i < v; i++) if (masked[i] < thr) masked[i] = double.NegativeInfinity;
        }
        var keep = masked.Select(m => !double.IsNegativeInfinity(m)).ToArray();
        if (p > 0)
        {
            var order = Enumerable.Range(0, v).OrderBy(i => masked[i]).ToArray();
            double max = masked.Max();
            var e = masked.Select(m => Math.Exp(m - max)).ToArray();
            double z = e.Sum(), cum = 0;
            for (int j = 0; j < v; j++)
            {
                cum += e[order[j]] / z;
                if (cum <= 1 - p && j < v - 1) keep[order[j]] = false;
            }
        }
        return keep;
    }

    [Theory]
    [InlineData(0, 0.0)]
    [InlineData(1, 0.0)]
    [InlineData(5, 0.0)]
    [InlineData(0, 0.5)]
    [InlineData(0, 0.9)]
    [InlineData(7, 0.8)]
    [InlineData(40, 0.95)]
    [InlineData(100, 1.0)]
    public void KeepsExactlyTheSpecifiedSet(int k, double p)
    {
        using var scope = NewDisposeScope();
        var gen = new Generator(1234);
        // Top-k alone: logits on a coarse grid, so ties occur and must be kept with the k-th value. With top-p the order
        // of tied entries is unspecified (the reference's sort is not stable), so distinct values are used.
        var logits = p == 0
            ? randint(0, 12, new long[] { 3, 4, 40 }, generator: gen).to(ScalarType.Float32).div(2)
            : randn(new long[] { 3, 4, 40 }, generator: gen).mul(2);
        var topK = full(3, (long)k, dtype: ScalarType.Int64);
        var topP = full(3, (float)p);
        var kept = LogitFilter.Apply(logits, topK, topP).isfinite();
        for (int b = 0; b < 3; b++)
            for (int l = 0; l < 4; l++)
            {
                var row = logits[b, l].data<float>().ToArray();
                var expected = ReferenceKeep(row, k, p);
                var actual = kept[b, l].data<bool>().ToArray();
                Assert.Equal(expected, actual);
            }
    }

    [Fact]
    public void EverythingOffReturnsTheLogitsUnchanged()
    {
        using var scope = NewDisposeScope();
        var logits = randn(new long[] { 3, 4, 40 }, generator: new Generator(7));
        // Top-k 0 or ≥ V and top-p 0 in every row: the fast path, which must equal what the filter would keep.
        var filtered = LogitFilter.Apply(logits, tensor(new long[] { 0, 40, 99 }), tensor(new float[] { 0, 0, 0 }));
        Assert.True(filtered.eq(logits).all().item<bool>());
    }

    [Fact]
    public void SettingsArePerRow()
    {
        using var scope = NewDisposeScope();
        var logits = arange(10, dtype: ScalarType.Float32).view(1, 1, 10).repeat(3, 1, 1);
        var kept = LogitFilter.Apply(logits, tensor(new long[] { 0, 3, 1 }), tensor(new float[] { 0, 0, 0 })).isfinite();
        Assert.Equal(10, kept[0].sum().item<long>());
        Assert.Equal(3, kept[1].sum().item<long>());
        Assert.Equal(1, kept[2].sum().item<long>());
        Assert.True(kept[2, 0, 9].item<bool>());
    }
}
