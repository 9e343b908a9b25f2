namespace Var.Model.Transformer;

/// <summary>
/// The KV cache of one <see cref="VarTransformer"/> for one batch: a key/value buffer per block. It is a value that the
/// caller (a decoding session) holds and passes to <see cref="VarTransformer.CachedStep"/> and
/// <see cref="VarTransformer.Prefill"/>, never module state, so two transformers (or two batches) can hold caches at
/// once. Rows are the transformer's batch rows (with CFG: conditional rows, then unconditional rows).
/// </summary>
public sealed class TransformerCache : IDisposable
{
    private readonly KvCache[] layers;

    /// <summary>An empty cache for <paramref name="depth"/> blocks and up to <paramref name="capacity"/> tokens.</summary>
    public TransformerCache(int depth, long capacity)
    {
        layers = Enumerable.Range(0, depth).Select(_ => new KvCache(capacity)).ToArray();
    }

    /// <summary>Tokens cached so far.</summary>
    public long Length => layers.Length == 0 ? 0 : layers[0].Length;

    internal KvCache Layer(int block) => layers[block];

    /// <summary>Replaces the batch by the rows <paramref name="rowsB"/> (int64 indices, repeats allowed).</summary>
    public void Gather(Tensor rowsB)
    {
        foreach (var layer in layers) layer.Gather(rowsB);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var layer in layers) layer.Dispose();
    }
}
