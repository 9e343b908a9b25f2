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
