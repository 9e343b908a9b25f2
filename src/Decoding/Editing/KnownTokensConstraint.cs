using Var.Decoding.Core;

namespace Var.Decoding.Editing;

/// <summary>
/// Masked teacher forcing (var.md §5): rows whose request carries an <see cref="EditTarget"/> get the image's tokens
/// wherever the scale's keep mask says so; other rows are left as drawn, so edits and plain generations share batches.
/// </summary>
public sealed class KnownTokensConstraint : ITokenConstraint
{
    /// <inheritdoc />
    public (Tensor IdxBl, Tensor? ForcedBl) Apply(DecodingSession session, int si, Tensor idxBl)
    {
        int b = session.Count, pn = session.PatchNums[si], l = pn * pn;
        var keep = new bool[b * l];
        var known = new long[b * l];
        bool any = false;
        for (int i = 0; i < b; i++)
        {
            if (session.Rows[i].Request.Edit is not { } edit) continue;
            var mask = edit.KeepAt(si, pn);
            var tokens = edit.Tokens[si];
            for (int j = 0; j < l; j++)
            {
                keep[i * l + j] = mask[j];
                known[i * l + j] = tokens[j];
            }
            any = true;
        }
        if (!any) return (idxBl, null);
        using var scope = NewDisposeScope();
        var keepBl = tensor(keep, device: idxBl.device).view(b, l);
        var knownBl = tensor(known, dtype: ScalarType.Int64, device: idxBl.device).view(b, l);
        return (where(keepBl, knownBl, idxBl).MoveToOuterDisposeScope(), keepBl.MoveToOuterDisposeScope());
    }
}
