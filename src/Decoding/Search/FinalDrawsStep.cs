using Var.Decoding.Core;

namespace Var.Decoding.Search;

/// <summary>
/// The search's last-scale step: the inner step computes the last scale's logits once per survivor, then every
/// survivor is widened to <paramref name="draws"/> rows (forked generators) that draw from those same logits. The
/// tokens of one scale are drawn independently given the logits (var.md §3), so the extra candidates cost draws, a
/// decode and a reward each, but no transformer work; the final best-of then picks among all of them. The cache is
/// closed first: nothing reads it after the last scale.
/// </summary>
public sealed class FinalDrawsStep(IScaleStep inner, int draws) : IScaleStep
{
    /// <summary>Salt base of the widening's forks: after every scale's own (scales done · 2²⁰ ≤ K · 2²⁰).</summary>
    private const long SaltBase = 1L << 40;

    /// <inheritdoc />
    public Tensor Logits(DecodingSession session, int si)
    {
        var logits = inner.Logits(session, si);
        if (draws <= 1 || si != session.NumScales - 1) return logits;
        int b = session.Count;
        session.CloseContext();
        var positions = Enumerable.Range(0, b).SelectMany(p => Enumerable.Repeat(p, draws)).ToArray();
        session.Gather(positions, fork: true, forkSalt: SaltBase);
        using var scope = NewDisposeScope();
        var index = tensor(positions.Select(p => (long)p).ToArray(), dtype: ScalarType.Int64, device: logits.device);
        var widened = logits.index_select(0, cat(new[] { index, index + b }, 0));
        return widened.MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public (Tensor IdxBl, Tensor HBChw) Draw(DecodingSession session, int si, Tensor logits2BlV, ScaleSampling scale, ITokenConstraint? constraint) =>
        inner.Draw(session, si, logits2BlV, scale, constraint);
}
