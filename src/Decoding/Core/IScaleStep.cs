namespace Var.Decoding.Core;

/// <summary>One way of producing a scale's logits (cached VAR step, prefill, a cache-free step …).</summary>
public interface IScaleStep
{
    /// <summary>
    /// Logits (2B, pn², V) float32 for scale <paramref name="si"/> of the session's B rows: conditional rows first, then
    /// the unconditional rows fed the same tokens.
    /// </summary>
    Tensor Logits(DecodingSession session, int si);
}
