namespace Var.Model.Transformer;

/// <summary>
/// AdaLN self-attention block (var.md §2.5): the class condition modulates two non-affine LayerNorms with
/// [γ1, γ2, scale1, scale2, shift1, shift2] = ada_lin(cond) (or ada_gss + a shared projection in the d36 variant).
/// </summary>
public sealed class AdaLnBlock : nn.Module<Tensor, Tensor, Tensor?, Tensor>
{
    private readonly SelfAttention attn;
    private readonly FeedForward ffn;
    private readonly Sequential? ada_lin;
    private readonly Parameter? ada_gss;
    private readonly int width;
    private readonly double eps;
    private readonly double dropPath;

    /// <summary>Builds one block of a model described by <paramref name="config"/> with stochastic depth <paramref name="dropPath"/>.</summary>
    public AdaLnBlock(VarConfig config, double dropPath) : base("AdaLNSelfAttn")
    {
        width = config.EmbedDim;
        eps = config.NormEps;
        this.dropPath = dropPath;
        attn = new SelfAttention(width, config.NumHeads, config.AttnL2Norm);
        ffn = new FeedForward(width, config.MlpHidden);
        if (config.SharedAdaLn)
            ada_gss = new Parameter(randn(1, 1, 6, width).div_(Math.Sqrt(width)));
        else
            ada_lin = nn.Sequential(("0", nn.SiLU()), ("1", nn.Linear(width, 6 * width)));
        RegisterComponents();
    }

    /// <summary>The modulation projection (absent in the shared variant).</summary>
    internal Linear? AdaLinear => ada_lin is null ? null : (Linear)ada_lin[1];

    /// <summary>
    /// Modulation (B, 1, 6, C) for a condition: cond (B, C) for the per-block variant, or the shared projection
    /// (B, 1, 6, C) for the d36 variant.
    /// </summary>
    public Tensor Modulation(Tensor condOrShared)
    {
        if (ada_gss is not null) return ada_gss + condOrShared;
        using var m = ada_lin!.forward(condOrShared);
        return m.view(-1, 1, 6, width);
    }

    /// <summary>x (B, L, C) with modulation (B, 1, 6, C) → (B, L, C); <paramref name="attnBias"/> (1, 1, L, L) or null.</summary>
    public override Tensor forward(Tensor x, Tensor modulation, Tensor? attnBias) => Run(x, modulation, attnBias, null);

    /// <summary>Like <see cref="forward"/>, attending to (and appending to) this block's <paramref name="cache"/>.</summary>
    internal Tensor CachedForward(Tensor x, Tensor modulation, Tensor? attnBias, KvCache cache) => Run(x, modulation, attnBias, cache);

    private Tensor Run(Tensor x, Tensor modulation, Tensor? attnBias, KvCache? cache)
    {
        using var scope = NewDisposeScope();
        var chunks = modulation.unbind(2);
        Tensor gamma1 = chunks[0], gamma2 = chunks[1], scale1 = chunks[2], scale2 = chunks[3], shift1 = chunks[4], shift2 = chunks[5];
        // Every intermediate is freed as soon as it is consumed, so a block holds at most one sub-layer's activations
        // (at batch 64 with CFG the scope would otherwise keep ~10 activations of the widest scale alive at once).
        Tensor h, mid;
        using (OpProfile.Measure("adaln")) h = Modulate(x, scale1, shift1);
        using (OpProfile.Measure("attention")) h = Consume(h, cache is null ? attn.forward(h, attnBias) : attn.CachedForward(h, attnBias, cache));
        using (OpProfile.Measure("residual")) mid = Residual(x, h, gamma1);
        using (OpProfile.Measure("adaln")) h = Modulate(mid, scale2, shift2);
        using (OpProfile.Measure("mlp")) h = Consume(h, ffn.forward(h));
        using (OpProfile.Measure("residual")) x = Residual(mid, h, gamma2);
        mid.Dispose();
        return x.MoveToOuterDisposeScope();
    }

    private Tensor Modulate(Tensor x, Tensor scale, Tensor shift)
    {
        using var normed = nn.functional.layer_norm(x, [width], eps: eps);
        using var factor = scale.add(1);
        return normed.mul(factor).add_(shift);
    }

    /// <summary>x + drop_path(h·γ); h is consumed.</summary>
    private Tensor Residual(Tensor x, Tensor h, Tensor gamma)
    {
        using var scaled = DropPath(h.mul_(gamma));
        var sum = x + scaled;
        h.Dispose();
        return sum;
    }

    /// <summary>Frees <paramref name="input"/> once <paramref name="output"/> (computed from it) exists.</summary>
    private static Tensor Consume(Tensor input, Tensor output)
    {
        input.Dispose();
        return output;
    }

    private Tensor DropPath(Tensor h)
    {
        if (!training || dropPath <= 0) return h;
        double keep = 1 - dropPath;
        var mask = empty(new long[] { h.shape[0], 1, 1 }, dtype: h.dtype, device: h.device).bernoulli_(keep).div_(keep);
        return h * mask;
    }
}
