namespace Var.Model.Vqvae;

/// <summary>
/// φ(h) = (1−r)·h + r·conv3×3(h), the residual refinement applied to each scale's upsampled embedding
/// (var.md §1.5). Holds its conv weight directly so its state-dict keys are <c>….weight</c>/<c>….bias</c>.
/// </summary>
public sealed class Phi : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly Parameter bias;
    private readonly double ratio;

    /// <summary>Builds φ over <paramref name="channels"/> channels with mixing ratio <paramref name="ratio"/>.</summary>
    public Phi(int channels, double ratio) : base(nameof(Phi))
    {
        this.ratio = Math.Abs(ratio);
        using var conv = nn.Conv2d(channels, channels, 3, padding: 1);
        weight = new Parameter(conv.weight!.detach().clone());
        bias = new Parameter(conv.bias!.detach().clone());
        RegisterComponents();
    }

    /// <summary>h: (B, C, H, W) → (B, C, H, W).</summary>
    public override Tensor forward(Tensor h)
    {
        using var conv = nn.functional.conv2d(h, weight, bias, padding: [1, 1]);
        return h.mul(1 - ratio).add_(conv.mul_(ratio));
    }
}
