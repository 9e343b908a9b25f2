namespace Var.Model.Vqvae;

/// <summary>Pre-activation residual block: x + conv2(silu(norm2(conv1(silu(norm1(x)))))) (var.md §1.2).</summary>
public sealed class ResnetBlock : nn.Module<Tensor, Tensor>
{
    private readonly GroupNorm norm1;
    private readonly Conv2d conv1;
    private readonly GroupNorm norm2;
    private readonly Conv2d conv2;
    private readonly Conv2d? nin_shortcut;

    /// <summary>Builds a block from <paramref name="inChannels"/> to <paramref name="outChannels"/>.</summary>
    public ResnetBlock(int inChannels, int outChannels) : base(nameof(ResnetBlock))
    {
        norm1 = VqvaeLayers.Normalize(inChannels);
        conv1 = nn.Conv2d(inChannels, outChannels, 3, padding: 1);
        norm2 = VqvaeLayers.Normalize(outChannels);
        conv2 = nn.Conv2d(outChannels, outChannels, 3, padding: 1);
        // Identity (and no state-dict keys) when the channel count is unchanged.
        nin_shortcut = inChannels != outChannels ? nn.Conv2d(inChannels, outChannels, 1) : null;
        RegisterComponents();
    }

    /// <summary>x: (B, Cin, H, W) → (B, Cout, H, W).</summary>
    public override Tensor forward(Tensor x)
    {
        // Each intermediate is freed as soon as it is consumed: at 256² a decoder activation is 40 MB per image,
        // and keeping them to the end of a scope costs gigabytes and page faults.
        Tensor h;
        using (var a1 = VqvaeLayers.NormSilu(norm1, x)) h = Conv3x3.Apply(conv1, a1);
        using var shortcut = nin_shortcut?.forward(x);
        using (var hIn = h)
        using (var a2 = VqvaeLayers.NormSilu(norm2, hIn)) return Conv3x3.Apply(conv2, a2, residual: shortcut ?? x);
    }
}
