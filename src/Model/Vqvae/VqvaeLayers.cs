namespace Var.Model.Vqvae;

/// <summary>Small layer factories shared by the encoder and decoder (var.md §1.2).</summary>
internal static class VqvaeLayers
{
    /// <summary>GroupNorm(32 groups, eps 1e-6, affine), the reference's <c>Normalize</c>.</summary>
    public static GroupNorm Normalize(int channels)
    {
        var norm = nn.GroupNorm(Math.Min(32, channels), channels, eps: 1e-6, affine: true);
        // TorchSharp 0.107 leaves GroupNorm's affine parameters uninitialised (seen: 0 and 4.8e24); PyTorch uses 1 and 0.
        using (no_grad())
        {
            norm.weight!.fill_(1);
            norm.bias!.zero_();
        }
        return norm;
    }

    /// <summary>silu(norm(x)) as a new tensor; the activation runs in place when no gradient is recorded.</summary>
    public static Tensor NormSilu(GroupNorm norm, Tensor x)
    {
        var n = norm.forward(x);
        if (!is_grad_enabled()) return n.silu_();
        using (n) return nn.functional.silu(n);
    }
}

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
        return Conv3x3.Forward(conv, x, upsample2x: true);
    }
}
