using Var.Model;

namespace Var.Decoding.Sampling;

/// <summary>
/// Top-k / top-p masking with per-row settings, exactly as the reference <c>sample_with_top_k_top_p_</c> (var.md §3):
/// top-k keeps logits ≥ the k-th largest (ties kept); top-p sorts the k-masked logits ascending, and removes entries whose
/// cumulative softmax is ≤ 1 − p, always keeping the largest.
/// </summary>
public static class LogitFilter
{
    /// <summary>
    /// Returns logits (B, l, V) with the removed entries set to −inf. <paramref name="topKB"/> (B,) int64 (0 = off) and
    /// <paramref name="topPB"/> (B,) float32 (0 = off) hold each row's settings.
    /// </summary>
    public static Tensor Apply(Tensor logitsBlV, Tensor topKB, Tensor topPB)
    {
        using var scope = NewDisposeScope();
        using var timed = OpProfile.Measure("sampler_topk_topp");
        long v = logitsBlV.shape[^1];
        // Every row with top-k off (0, or ≥ V: the k-th largest is the smallest) and top-p off removes nothing: skip
        // the sort (the shipped model's defaults; the result is the same tensor values either way).
        if (topKB.gt(0).logical_and_(topKB.lt(v)).any().item<bool>() is false && topPB.gt(0).any().item<bool>() is false)
            return logitsBlV.alias().MoveToOuterDisposeScope();
        var (sortedAsc, order) = logitsBlV.sort(dim: -1, descending: false);
        // k-th largest = sortedAsc[V − k]; rows with k = 0 (or k ≥ V) keep everything.
        var k = topKB.clamp(0, v);
        var kthPos = (v - k).clamp(0, v - 1).view(-1, 1, 1).expand(logitsBlV.shape[0], logitsBlV.shape[1], 1);
        var thr = sortedAsc.gather(-1, kthPos);
        thr = where(k.view(-1, 1, 1).gt(0), thr, full_like(thr, float.NegativeInfinity));
        var keepK = logitsBlV.ge(thr);
        var sortedMasked = sortedAsc.masked_fill(sortedAsc.lt(thr), float.NegativeInfinity);
        var cum = sortedMasked.softmax(-1).cumsum(-1);
        // p = 0 disables: compare against −1 so nothing is removed.
        var limit = where(topPB.gt(0), 1 - topPB, full_like(topPB, -1.0f)).view(-1, 1, 1);
        var removeSorted = cum.le(limit);
        removeSorted.select(-1, v - 1).fill_(false);
        var remove = zeros_like(removeSorted).scatter(-1, order, removeSorted);
        var keep = keepK.logical_and(remove.logical_not());
        return logitsBlV.masked_fill(keep.logical_not(), float.NegativeInfinity).MoveToOuterDisposeScope();
    }
}
