namespace Var.Model.Vqvae;

/// <summary>Single-head spatial self-attention with one fused 1×1 qkv conv (var.md §1.2).</summary>
public sealed class AttnBlock : nn.Module<Tensor, Tensor>
{
    private readonly GroupNorm norm;
    private readonly Conv2d qkv;
    private readonly Conv2d proj_out;
    private readonly int channels;

    /// <summary>Builds an attention block over <paramref name="channels"/> channels.</summary>
    public AttnBlock(int channels) : base(nameof(AttnBlock))
    {
        this.channels = channels;
        norm = VqvaeLayers.Normalize(channels);
        qkv = nn.Conv2d(channels, 3 * channels, 1);
        proj_out = nn.Conv2d(channels, channels, 1);
        RegisterComponents();
    }

    /// <summary>x: (B, C, H, W) → x + proj_out(attention(norm(x))).</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], hgt = x.shape[2], wid = x.shape[3];
        var qkvB3CHW = qkv.forward(norm.forward(x)).view(b, 3, channels, hgt * wid);
        // (B, 1, HW, C) per q/k/v: SDPA's default scale 1/√C is exactly the reference's C^−0.5.
        var q = qkvB3CHW[.., 0].transpose(1, 2).unsqueeze(1);
        var k = qkvB3CHW[.., 1].transpose(1, 2).unsqueeze(1);
        var v = qkvB3CHW[.., 2].transpose(1, 2).unsqueeze(1);
        var hBLC = nn.functional.scaled_dot_product_attention(q, k, v).squeeze(1);
        var h = hBLC.transpose(1, 2).reshape(b, channels, hgt, wid);
        return (x + proj_out.forward(h)).MoveToOuterDisposeScope();
    }
}
