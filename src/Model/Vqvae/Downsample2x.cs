namespace Var.Model.Vqvae;

/// <summary>Zero-pad right and bottom by one, then a 3×3 stride-2 conv with no padding (var.md §1.2).</summary>
public sealed class Downsample2x : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv;

    /// <summary>Builds the downsampler for <paramref name="channels"/> channels.</summary>
    public Downsample2x(int channels) : base(nameof(Downsample2x))
    {
        conv = nn.Conv2d(channels, channels, 3, stride: 2, padding: 0L);
        RegisterComponents();
    }

    /// <summary>(B, C, H, W) → (B, C, H/2, W/2).</summary>
    public override Tensor forward(Tensor x)
    {
        using var padded = nn.functional.pad(x, [0, 1, 0, 1]);
        return conv.forward(padded);
    }
}
