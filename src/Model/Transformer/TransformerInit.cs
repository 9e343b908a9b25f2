namespace Var.Model.Transformer;

/// <summary>
/// The reference's <c>init_weights</c> (var.md §2.7), shared by VAR and HMAR: truncated-normal linears and embeddings
/// (zero biases) and position tables, heads scaled by <c>initHead</c>, AdaLN projections by <c>initAdaln</c> (their γ rows
/// by <c>initAdalnGamma</c>), and every block's output projections divided by √(2·depth).
/// </summary>
internal static class TransformerInit
{
    /// <summary>Re-initialises <paramref name="model"/>; <paramref name="depth"/> is the blocks on one input-to-logits path.</summary>
    public static void Apply(nn.Module model, int width, int depth, IEnumerable<Tensor> positionTables, IEnumerable<Linear> heads,
        IEnumerable<AdaLnBeforeHead> headNorms, IEnumerable<AdaLnBlock> blocks, double initStd, double initAdaln, double initAdalnGamma, double initHead)
    {
        using var noGrad = no_grad();
        foreach (var (_, module) in model.named_modules())
        {
            if (module is Linear lin)
            {
                TruncNormal(lin.weight!, initStd);
                if (lin.bias is not null) nn.init.zeros_(lin.bias);
            }
            else if (module is Embedding emb)
            {
                TruncNormal(emb.weight!, initStd);
            }
        }
        foreach (var p in positionTables) TruncNormal(p, initStd);
        foreach (var head in heads) head.weight!.mul_(initHead);
        foreach (var norm in headNorms) norm.AdaLinear.weight!.mul_(initAdaln);
        double depthScale = Math.Sqrt(2 * depth);
        foreach (var (name, p) in model.named_parameters())
        {
            if (name.EndsWith("attn.proj.weight") || name.EndsWith("ffn.fc2.weight")) p.div_(depthScale);
        }
        foreach (var block in blocks)
        {
            var ada = block.AdaLinear;
            if (ada is null) continue;
            using var rest = ada.weight!.narrow(0, 2 * width, 4 * width);
            rest.mul_(initAdaln);
            using var gammas = ada.weight!.narrow(0, 0, 2 * width);
            gammas.mul_(initAdalnGamma);
        }
    }

    /// <summary>
    /// Normal(0, std) truncated at the absolute bounds ±2 (PyTorch's trunc_normal_ defaults, var.md §2.7). With std ≪ 1
    /// the bounds are ~100σ away, so clamping a normal draw is the same distribution. (TorchSharp 0.107's
    /// nn.init.trunc_normal_ leaves the tensor at zero, so it is not used.)
    /// </summary>
    private static void TruncNormal(Tensor t, double std) => t.normal_(0, std).clamp_(-2, 2);
}
