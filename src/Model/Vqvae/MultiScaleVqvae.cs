namespace Var.Model.Vqvae;

/// <summary>
/// The multi-scale VQVAE (var.md §1): encoder → quant_conv → residual quantizer → post_quant_conv → decoder.
/// Images are (B, 3, H, W) in [−1, 1]; token ids per scale are (B, pn²) int64.
/// </summary>
public sealed class MultiScaleVqvae : nn.Module
{
    private readonly Encoder encoder;
    private readonly Decoder decoder;
    private readonly ResidualQuantizer quantize;
    private readonly Conv2d quant_conv;
    private readonly Conv2d post_quant_conv;

    /// <summary>The architecture this instance was built from.</summary>
    public VqvaeConfig Config { get; }

    /// <summary>Builds a randomly initialised VQVAE for <paramref name="config"/>.</summary>
    public MultiScaleVqvae(VqvaeConfig config) : base("VQVAE")
    {
        config.Validate();
        Config = config;
        encoder = new Encoder(config);
        decoder = new Decoder(config);
        quantize = new ResidualQuantizer(config);
        int pad = config.QuantConvKernel / 2;
        quant_conv = nn.Conv2d(config.ZChannels, config.ZChannels, config.QuantConvKernel, padding: pad);
        post_quant_conv = nn.Conv2d(config.ZChannels, config.ZChannels, config.QuantConvKernel, padding: pad);
        RegisterComponents();
    }

    /// <summary>The residual quantizer.</summary>
    public ResidualQuantizer Quantizer => quantize;

    /// <summary>Latent f = quant_conv(encoder(image)): (B, 3, H, W) → (B, Cvae, H/f, W/f).</summary>
    public Tensor Encode(Tensor imageBchw)
    {
        using var h = encoder.forward(imageBchw);
        return quant_conv.forward(h);
    }

    /// <summary>Image from f̂, clamped to [−1, 1]: (B, Cvae, h, w) → (B, 3, h·f, w·f).</summary>
    public Tensor FHatToImage(Tensor fHat)
    {
        using var scope = NewDisposeScope();
        return decoder.forward(post_quant_conv.forward(fHat)).clamp_(-1, 1).MoveToOuterDisposeScope();
    }

    /// <summary>Decoder on f̂ without clamping (for training losses).</summary>
    public Tensor DecodeUnclamped(Tensor fHat)
    {
        using var h = post_quant_conv.forward(fHat);
        return decoder.forward(h);
    }

    /// <summary>Token ids per scale of images in [−1, 1].</summary>
    public Tensor[] ImageToTokens(Tensor imageBchw)
    {
        using var scope = NewDisposeScope();
        var f = Encode(imageBchw);
        var (idx, _) = quantize.Quantize(f);
        foreach (var t in idx) t.MoveToOuterDisposeScope();
        return idx;
    }

    /// <summary>Image in [−1, 1] from token ids per scale.</summary>
    public Tensor TokensToImage(IReadOnlyList<Tensor> idxBl)
    {
        using var fHat = quantize.TokensToFHat(idxBl);
        return FHatToImage(fHat);
    }

    /// <summary>VQ round trip of images in [−1, 1].</summary>
    public Tensor Reconstruct(Tensor imageBchw)
    {
        using var scope = NewDisposeScope();
        return TokensToImage(ImageToTokens(imageBchw)).MoveToOuterDisposeScope();
    }
}
