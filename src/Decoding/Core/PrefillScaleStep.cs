using Var.Model.Transformer;

namespace Var.Decoding.Core;

/// <summary>
/// The hand-over step (CoDe §2.4): closes whatever transformer was open (freeing its cache), opens
/// <paramref name="transformer"/> and fills its fresh cache in one block-causal pass over every scale up to and
/// including the current one, from the token-map inputs drawn so far; returns the current scale's logits. Later scales
/// continue with a <see cref="CachedScaleStep"/> of the same transformer.
/// </summary>
public sealed class PrefillScaleStep(VarTransformer transformer) : IScaleStep
{
    /// <summary>The transformer that is opened and prefilled.</summary>
    public VarTransformer Transformer => transformer;

    /// <inheritdoc />
    public Tensor Logits(DecodingSession session, int si)
    {
        using var scope = NewDisposeScope();
        var context = session.Open(transformer);
        var xBLCv = session.InputsUpTo(si).repeat(2, 1, 1);
        return transformer.Prefill(context.Cond, context.Mods, xBLCv, si, context.Cache).MoveToOuterDisposeScope();
    }
}
