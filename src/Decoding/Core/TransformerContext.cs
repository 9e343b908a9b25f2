using Var.Model.Transformer;

namespace Var.Decoding.Core;

/// <summary>
/// What one transformer needs to continue a session: its class conditioning cond (2B, C) for the conditional then
/// unconditional rows, its per-block AdaLN modulations, and its KV cache. Owned by the session; its tensors are
/// detached from every dispose scope and freed on <see cref="Dispose"/>.
/// </summary>
public sealed class TransformerContext : IDisposable
{
    internal TransformerContext(VarTransformer transformer, Tensor cond2BC, Tensor[] mods, TransformerCache cache)
    {
        Transformer = transformer;
        Cond = cond2BC;
        Mods = mods;
        Cache = cache;
    }

    /// <summary>The transformer this context belongs to.</summary>
    public VarTransformer Transformer { get; }

    /// <summary>Class embeddings (2B, C): rows 0..B−1 conditional, B..2B−1 unconditional.</summary>
    public Tensor Cond { get; private set; }

    /// <summary>Per-block modulations, each (2B, 1, 6, C).</summary>
    public Tensor[] Mods { get; private set; }

    /// <summary>The KV cache (2B rows).</summary>
    public TransformerCache Cache { get; }

    /// <summary>Keeps the rows <paramref name="rows2B"/> (int64, conditional and unconditional halves already paired).</summary>
    internal void Gather(Tensor rows2B)
    {
        var cond = Cond.index_select(0, rows2B).DetachFromDisposeScope();
        var mods = Mods.Select(m => m.index_select(0, rows2B).DetachFromDisposeScope()).ToArray();
        DisposeTensors();
        Cond = cond;
        Mods = mods;
        Cache.Gather(rows2B);
    }

    private void DisposeTensors()
    {
        Cond.Dispose();
        foreach (var m in Mods) m.Dispose();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        DisposeTensors();
        Cache.Dispose();
    }
}
