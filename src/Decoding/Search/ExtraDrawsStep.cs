using Var.Decoding.Core;

namespace Var.Decoding.Search;

/// <summary>
/// The search's step wrapper for extra draws: at a scale with <paramref name="drawsAt"/> &gt; 1 the inner step
/// computes the scale's logits once per candidate, then every candidate is widened to that many rows (forked
/// generators) that draw from those same logits. The tokens of one scale are drawn independently given the logits
/// (var.md §3), so the extra candidates cost draws, a decode and a reward each, but no transformer work; the selection
/// after the scale (resampling, or the final best-of) then chooses among all of them. At the last scale the cache is
/// closed first: nothing reads it afterwards.
/// </summary>
public sealed class ExtraDrawsStep(IScaleStep inner, Func<int, int> drawsAt) : IScaleStep
{
    /// <summary>Salt base of the widening's forks: apart from every selection's own (scales done · 2²⁰).</summary>
    private const long SaltBase = 1L << 40;

    /// <inheritdoc />
    public Tensor Logits(DecodingSession session, int si)
    {
        var logits = inner.Logits(session, si);
        int draws = drawsAt(si);
        if (draws <= 1) return logits;
        int b = session.Count;
        if (si == session.NumScales - 1) session.CloseContext();
        var positions = Enumerable.Range(0, b).SelectMany(p => Enumerable.Repeat(p, draws)).ToArray();
        session.Gather(positions, fork: true, forkSalt: SaltBase + ((long)si << 20));
        using var scope = NewDisposeScope();
        var index = tensor(positions.Select(p => (long)p).ToArray(), dtype: ScalarType.Int64, device: logits.device);
        return logits.index_select(0, cat(new[] { index, index + b }, 0)).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public (Tensor IdxBl, Tensor HBChw) Draw(DecodingSession session, int si, Tensor logits2BlV, ScaleSampling scale, ITokenConstraint? constraint) =>
        inner.Draw(session, si, logits2BlV, scale, constraint);
}
