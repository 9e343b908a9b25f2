namespace Var.Decoding.Core;

/// <summary>
/// Forces known tokens between the draw and the embedding (editing: the image's tokens outside the mask, var.md §5).
/// </summary>
public interface ITokenConstraint
{
    /// <summary>
    /// Returns the tokens to embed for scale <paramref name="si"/>: drawn idxBl (B, pn²) int64 with the known positions
    /// replaced. Rows are the session's current rows (<see cref="DecodingSession.Rows"/>).
    /// </summary>
    Tensor Apply(DecodingSession session, int si, Tensor idxBl);
}
