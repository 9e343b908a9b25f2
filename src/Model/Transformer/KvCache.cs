namespace Var.Model.Transformer;

/// <summary>
/// Per-layer key/value cache for scale-by-scale inference. Keys and values live in preallocated (B, H, Lmax, d)
/// buffers owned by the cache (detached from every dispose scope) and are freed on <see cref="Reset"/>.
/// </summary>
internal sealed class KvCache : IDisposable
{
    private Tensor? keys;
    private Tensor? values;
    private long length;
    private long capacity;

    /// <summary>Whether appends are recorded.</summary>
    public bool Enabled { get; private set; }

    /// <summary>Tokens cached so far.</summary>
    public long Length => length;

    /// <summary>Starts caching up to <paramref name="capacity"/> tokens, dropping anything cached before.</summary>
    public void Enable(long capacity)
    {
        Reset();
        this.capacity = capacity;
        Enabled = true;
    }

    /// <summary>Appends k, v (B, H, l, d) and returns views of everything cached, (B, H, length, d).</summary>
    public (Tensor K, Tensor V) Append(Tensor k, Tensor v)
    {
        if (keys is null || values is null)
        {
            var shape = new[] { k.shape[0], k.shape[1], capacity, k.shape[3] };
            keys = empty(shape, dtype: k.dtype, device: k.device).DetachFromDisposeScope();
            values = empty(shape, dtype: v.dtype, device: v.device).DetachFromDisposeScope();
        }
        long l = k.shape[2];
        if (length + l > capacity) throw new InvalidOperationException($"KV cache overflow: {length} + {l} > {capacity}");
        using (var dstK = keys.narrow(2, length, l)) dstK.copy_(k);
        using (var dstV = values.narrow(2, length, l)) dstV.copy_(v);
        length += l;
        return (keys.narrow(2, 0, length), values.narrow(2, 0, length));
    }

    /// <summary>Keeps only the batch rows in <paramref name="rows"/> (int64 indices), e.g. after a cancellation.</summary>
    public void KeepRows(Tensor rows)
    {
        if (keys is null || values is null) return;
        var k = keys.index_select(0, rows).DetachFromDisposeScope();
        var v = values.index_select(0, rows).DetachFromDisposeScope();
        keys.Dispose();
        values.Dispose();
        keys = k;
        values = v;
    }

    /// <summary>Disables caching and frees the buffers.</summary>
    public void Reset()
    {
        keys?.Dispose();
        values?.Dispose();
        keys = values = null;
        length = 0;
        Enabled = false;
    }

    /// <inheritdoc />
    public void Dispose() => Reset();
}
