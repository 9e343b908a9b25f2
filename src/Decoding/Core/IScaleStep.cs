namespace Var.Decoding.Core;

/// <summary>One way of producing a scale's logits (cached VAR step, prefill, a cache-free step …).</summary>
public interface IScaleStep
{
    /// <summary>
    /// Logits (2B, pn², V) float32 for scale <paramref name="si"/> of the session's B rows: conditional rows first, then
    /// the unconditional rows fed the same tokens.
    /// </summary>
    Tensor Logits(DecodingSession session, int si);

    /// <summary>
    /// Draws the scale's tokens (B, pn²) int64 and their embeddings (B, Cvae, pn, pn) from <see cref="Logits"/>'s
    /// output: the one draw routine, unless the step refines its draw inside the scale (HMAR's masked steps).
    /// </summary>
    (Tensor IdxBl, Tensor HBChw) Draw(DecodingSession session, int si, Tensor logits2BlV, ScaleSampling scale, ITokenConstraint? constraint) =>
        TokenDraw.Draw(session, si, logits2BlV, scale, constraint);
}
