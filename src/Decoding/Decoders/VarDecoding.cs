using Var.Decoding.Core;
using Var.Model;

namespace Var.Decoding.Decoders;

/// <summary>Plain VAR (var.md §3): cached steps of one transformer (by role; "var" by default) for every scale.</summary>
public sealed record VarDecoding(string Transformer = ModelBundle.DefaultRole) : IDecoder
{
    /// <inheritdoc />
    public string Kind => "var";

    /// <inheritdoc />
    public string BatchKey => $"var:{Transformer}";

    /// <inheritdoc />
    public DecodingPlan Plan(ModelBundle model) => DecodingPlan.Single(model.Vqvae.Config.PatchNums.Length, new CachedScaleStep(model.TransformerFor(Transformer)));
}
