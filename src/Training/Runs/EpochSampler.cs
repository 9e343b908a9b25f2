namespace Var.Training.Runs;

/// <summary>
/// Deterministic mini-batches: epoch e visits the data in a shuffle seeded by (seed, e), dropping the last partial
/// batch, so the batch of any step can be recomputed after a resume without stored RNG state.
/// </summary>
public sealed class EpochSampler(int count, int batchSize, int seed)
{
    private int[]? order;
    private long orderEpoch = -1;

    /// <summary>Full batches per epoch.</summary>
    public long StepsPerEpoch { get; } = count / batchSize;

    /// <summary>Indices of the batch of the 0-based <paramref name="step"/>.</summary>
    public int[] Batch(long step)
    {
        long epoch = step / StepsPerEpoch;
        if (epoch != orderEpoch)
        {
            order = Enumerable.Range(0, count).ToArray();
            new Random(StepSeed.Mix(seed, epoch, 0x5eed)).Shuffle(order);
            orderEpoch = epoch;
        }
        int at = (int)(step % StepsPerEpoch) * batchSize;
        return order!.AsSpan(at, batchSize).ToArray();
    }
}
