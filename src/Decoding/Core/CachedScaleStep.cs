using Var.Model.Transformer;

namespace Var.Decoding.Core;

/// <summary>
/// The cached VAR step (var.md §3): the scale's tokens attend to the transformer's KV cache and to each other. At
/// scale 0 it opens the transformer on the session (the start token is the class embedding); later it continues the
/// open context, which must hold every earlier scale (after cached steps or a <see cref="PrefillScaleStep"/>).
/// <paramref name="cacheTokens"/> sizes the cache it opens (default: the whole sequence; CoDe's drafter needs only its
/// own scales).
/// </summary>
public sealed class CachedScaleStep(VarTransformer transformer, int? cacheTokens = null) : IScaleStep
{
    /// <summary>The transformer that runs the step.</summary>
    public VarTransformer Transformer => transformer;

    /// <inheritdoc />
    public Tensor Logits(DecodingSession session, int si)
    {
        using var scope = NewDisposeScope();
        Tensor x;
        TransformerContext context;
        if (si == 0)
        {
            context = session.Open(transformer, cacheTokens);
            x = transformer.StartInput(context.Cond);
        }
        else
        {
            context = session.Context is { } open && ReferenceEquals(open.Transformer, transformer)
                ? open
                : throw new InvalidOperationException($"a cached step at scale {si} needs this transformer's cache of scales 0..{si - 1}; start with a prefill step");
            long expected = transformer.ScaleRanges[si].Begin;
            if (context.Cache.Length != expected)
                throw new InvalidOperationException($"the cache holds {context.Cache.Length} tokens, scale {si} needs {expected}");
            x = transformer.ScaleInput(session.NextInput, si).repeat(2, 1, 1);
        }
        return transformer.CachedStep(x, context.Mods, context.Cond, context.Cache).MoveToOuterDisposeScope();
    }
}
