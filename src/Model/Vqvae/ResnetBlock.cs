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
        using var h1 = conv1.forward(nn.functional.silu(norm1.forward(x)));
        using var h2 = conv2.forward(nn.functional.silu(norm2.forward(h1)));
        return nin_shortcut is null ? x + h2 : nin_shortcut.forward(x) + h2;
    }
}
