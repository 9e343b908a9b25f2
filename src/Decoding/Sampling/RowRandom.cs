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
        generator = new Generator((ulong)seed, CPU);
    }

    private RowRandom(Generator generator)
    {
        this.generator = generator;
    }

    /// <summary>A generator in the same state: it continues with exactly the draws this one would make next.</summary>
    public RowRandom Clone()
    {
        var copy = new Generator(0, CPU);
        using var state = generator.get_state();
        copy.set_state(state);
        return new RowRandom(copy);
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
