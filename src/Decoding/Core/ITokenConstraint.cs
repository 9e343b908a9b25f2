namespace Var.Decoding.Core;

/// <summary>
/// Forces known tokens between the draw and the embedding (editing: the image's tokens outside the mask, var.md §5).
/// </summary>
public interface ITokenConstraint
{
    /// <summary>
    /// Returns the tokens to embed for scale <paramref name="si"/>: drawn idxBl (B, pn²) int64 with the known positions
    /// replaced, and which positions were forced (B, pn²) bool, or null when none (the gumbel "more smooth" mix then
    /// leaves forced positions alone). Rows are the session's current rows (<see cref="DecodingSession.Rows"/>).
    /// </summary>
    (Tensor IdxBl, Tensor? ForcedBl) Apply(DecodingSession session, int si, Tensor idxBl);
}
