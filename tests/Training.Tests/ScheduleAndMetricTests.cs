using Var.Training.Evaluation;
using Var.Training.Runs;

namespace Var.Training.Tests;

public class ScheduleAndMetricTests
{
    [Fact]
    public void LearningRateWarmsUpHoldsThenDecaysToTheFinalFraction()
    {
        var s = new LrSchedule(1e-3, 10, 100, 0.6, 0.1);
        Assert.Equal(0.005e-3, s.At(0), 12);
        Assert.True(s.At(5) > s.At(1));
        Assert.Equal(1e-3, s.At(10), 12);
        Assert.Equal(1e-3, s.At(59), 12);
        Assert.True(s.At(80) < 1e-3 && s.At(80) > 1e-4);
        Assert.Equal(1e-4, s.At(100), 12);
    }

    [Fact]
    public void SamplerIsDeterministicAndCoversEachEpochOnce()
    {
        var a = new EpochSampler(100, 10, 7);
        var b = new EpochSampler(100, 10, 7);
        var epoch = Enumerable.Range(0, 10).SelectMany(s => a.Batch(s)).ToArray();
        Assert.Equal(Enumerable.Range(0, 100), epoch.Order());
        Assert.Equal(a.Batch(13), b.Batch(13));
        Assert.NotEqual(a.Batch(0), a.Batch(10));
    }

    [Fact]
    public void FrechetDistanceIsZeroForEqualSetsAndSeesAMeanShift()
    {
        using var scope = NewDisposeScope();
        manual_seed(11);
        var x = randn(2000, 6, dtype: ScalarType.Float64);
        Assert.Equal(0, FrechetDistance.Compute(x, x), 6);
        var shift = tensor(new double[] { 1, 0, 2, 0, 0, 0 });
        Assert.Equal(5.0, FrechetDistance.Compute(x, x + shift), 6);
        var y = randn(2000, 6, dtype: ScalarType.Float64).mul(2);
        // Σ = I vs 4I: tr(I) + tr(4I) − 2 tr(2I) = 6 + 24 − 24 = 6 (up to sampling noise).
        Assert.InRange(FrechetDistance.Compute(x, y), 5.0, 7.5);
    }
}
