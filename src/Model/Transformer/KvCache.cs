namespace Var.Model.Transformer;

/// <summary>
/// Key/value cache of one attention layer for one batch. Keys and values live in preallocated (B, H, Lmax, d) buffers
/// owned by the cache (detached from every dispose scope) and are freed on <see cref="Dispose"/>.
/// </summary>
internal sealed class KvCache(long capacity) : IDisposable
{
    private Tensor? keys;
    private Tensor? values;
    private long length;

    /// <summary>Tokens cached so far.</summary>
    public long Length => length;

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

    /// <summary>Replaces the batch by the rows <paramref name="rows"/> (int64 indices; repeats copy a row).</summary>
    public void Gather(Tensor rows)
    {
        if (keys is null || values is null) return;
        // Only the filled positions are copied (a search gathers after coarse scales, when little is cached).
        var k = Select(keys, rows);
        var v = Select(values, rows);
        keys.Dispose();
        values.Dispose();
        keys = k;
        values = v;
    }

    private Tensor Select(Tensor buffer, Tensor rows)
    {
        using var scope = NewDisposeScope();
        var shape = buffer.shape;
        shape[0] = rows.shape[0];
        var next = empty(shape, dtype: buffer.dtype, device: buffer.device);
        if (length > 0) next.narrow(2, 0, length).copy_(buffer.narrow(2, 0, length).index_select(0, rows));
        return next.DetachFromDisposeScope();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        keys?.Dispose();
        values?.Dispose();
        keys = values = null;
        length = 0;
    }
}
