namespace Var.Decoding.Core;

/// <summary>
/// Per-row values a search keeps along a path and that move with the row when rows are gathered: the reward measured
/// after each scale (NaN where none was), and the implicit classifier's running log-likelihood ratio
/// log p(tokens | class) − log p(tokens | unconditional) over the scales drawn so far.
/// </summary>
public sealed class RowScores
{
    private readonly double[] rewards;

    /// <summary>No rewards yet for <paramref name="numScales"/> scales.</summary>
    public RowScores(int numScales)
    {
        rewards = Enumerable.Repeat(double.NaN, numScales).ToArray();
    }

    private RowScores(double[] rewards, double logRatio)
    {
        this.rewards = rewards;
        LogRatio = logRatio;
    }

    /// <summary>Reward after each scale (NaN: not measured).</summary>
    public IReadOnlyList<double> Rewards => rewards;

    /// <summary>Running conditional-minus-unconditional log-likelihood of the row's tokens, in nats.</summary>
    public double LogRatio { get; set; }

    /// <summary>Records the reward measured after scale <paramref name="si"/>.</summary>
    public void SetReward(int si, double reward) => rewards[si] = reward;

    /// <summary>An independent copy.</summary>
    public RowScores Copy() => new((double[])rewards.Clone(), LogRatio);
}
