namespace Var.Model.Vqvae;

/// <summary>Nearest ×2, then a 3×3 conv with padding 1 (var.md §1.2).</summary>
public sealed class Upsample2x : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv;

    /// <summary>Builds the upsampler for <paramref name="channels"/> channels.</summary>
    public Upsample2x(int channels) : base(nameof(Upsample2x))
    {
        conv = nn.Conv2d(channels, channels, 3, padding: 1);
        RegisterComponents();
    }

    /// <summary>(B, C, H, W) → (B, C, 2H, 2W).</summary>
    public override Tensor forward(Tensor x)
    {
        return Conv3x3.Apply(conv, x, upsample2x: true);
    }
}
