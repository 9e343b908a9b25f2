namespace Var.Decoding.Sampling;

/// <summary>
/// One CPU generator per image, seeded by the image's seed, so that its draws do not depend on what else shares the
/// batch. Each scale draws, in order: l uniforms for token sampling, then (more-smooth rows only) l·V exponentials.
/// </summary>
public sealed class RowRandom : IDisposable
{
    private readonly Generator generator;

    /// <summary>Seeds the row's generator.</summary>
    public RowRandom(long seed)
    {
        Seed = seed;
        generator = new Generator((ulong)seed, CPU);
    }

    private RowRandom(long seed, Generator generator)
    {
        Seed = seed;
        this.generator = generator;
    }

    /// <summary>The seed this generator started from (a fork's derived seed for forks).</summary>
    public long Seed { get; }

    /// <summary>A generator in the same state: it continues with exactly the draws this one would make next.</summary>
    public RowRandom Clone()
    {
        var copy = new Generator(0, CPU);
        using var state = generator.get_state();
        copy.set_state(state);
        return new RowRandom(Seed, copy);
    }

    /// <summary>
    /// An independent generator whose seed is derived from this one's seed and <paramref name="salt"/> only (SplitMix64
    /// finaliser), so a fork is reproducible from the row's seed and where it was forked, whatever shares the batch.
    /// </summary>
    public RowRandom Fork(long salt) => new(Mix(Seed, salt));

    /// <summary>SplitMix64 of <paramref name="seed"/> combined with <paramref name="salt"/>: well-spread 63-bit seeds.</summary>
    public static long Mix(long seed, long salt)
    {
        ulong z = unchecked((ulong)seed + 0x9E3779B97F4A7C15UL * ((ulong)salt + 1));
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        z ^= z >> 31;
        return (long)(z >> 1);
    }

    /// <summary>l uniforms in (0, 1] on the CPU, float64.</summary>
    public Tensor Uniforms(long l)
    {
        using var u = rand(new[] { l }, dtype: ScalarType.Float64, device: CPU, generator: generator);
        return u.neg().add_(1);
    }

    /// <summary>Gumbel noise −log(Exp(1)) of shape (l, V) on the CPU, float32.</summary>
    public Tensor Gumbel(long l, long v)
    {
        using var scope = NewDisposeScope();
        var e = empty(new[] { l, v }, dtype: ScalarType.Float32, device: CPU).exponential_(1.0, generator);
        return e.log_().neg_().MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public void Dispose() => generator.Dispose();
}
