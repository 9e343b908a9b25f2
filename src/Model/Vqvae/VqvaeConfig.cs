using System.Text.Json.Serialization;

namespace Var.Model.Vqvae;

/// <summary>
/// Architecture of a multi-scale VQVAE (reference/var.md §1). The defaults describe the official
/// <c>vae_ch160v4096z32.pth</c> at 256²; small tokenizers change channels, multipliers and schedule.
/// </summary>
public sealed record VqvaeConfig
{
    /// <summary>Codebook size V.</summary>
    public int VocabSize { get; init; } = 4096;

    /// <summary>Latent channels Cvae.</summary>
    public int ZChannels { get; init; } = 32;

    /// <summary>Base channel count.</summary>
    public int Ch { get; init; } = 160;

    /// <summary>Channel multiplier per resolution level; the downsampling factor is 2^(levels−1).</summary>
    public int[] ChMult { get; init; } = [1, 1, 2, 2, 4];

    /// <summary>Residual blocks per encoder level (the decoder uses one more).</summary>
    public int NumResBlocks { get; init; } = 2;

    /// <summary>Self-attention at the lowest resolution level.</summary>
    public bool UsingSa { get; init; } = true;

    /// <summary>Self-attention in the middle block.</summary>
    public bool UsingMidSa { get; init; } = true;

    /// <summary>Number of φ convolutions: 0 = one per scale, 1 = one shared, K ≥ 2 = K partially shared.</summary>
    public int ShareQuantResi { get; init; } = 4;

    /// <summary>φ mixing ratio r: φ(h) = (1−r)·h + r·conv(h).</summary>
    public double QuantResi { get; init; } = 0.5;

    /// <summary>Kernel size of quant_conv / post_quant_conv.</summary>
    public int QuantConvKernel { get; init; } = 3;

    /// <summary>Token-map sides per scale; the last equals the latent side.</summary>
    public int[] PatchNums { get; init; } = [1, 2, 3, 4, 5, 6, 8, 10, 13, 16];

    /// <summary>Input image channels.</summary>
    public int InChannels { get; init; } = 3;

    /// <summary>Spatial downsampling factor of the encoder.</summary>
    [JsonIgnore]
    public int Downsample => 1 << (ChMult.Length - 1);

    /// <summary>Image side the schedule implies (last patch num × downsample).</summary>
    [JsonIgnore]
    public int ImageSize => PatchNums[^1] * Downsample;

    /// <summary>Number of scales SN.</summary>
    [JsonIgnore]
    public int NumScales => PatchNums.Length;

    /// <summary>Total number of tokens over all scales, L = Σ pn².</summary>
    [JsonIgnore]
    public int TotalTokens => PatchNums.Sum(p => p * p);

    /// <summary>Number of φ convolutions actually built.</summary>
    [JsonIgnore]
    public int PhiCount => ShareQuantResi == 0 ? NumScales : ShareQuantResi;

    /// <summary>Throws <see cref="ArgumentException"/> when the configuration cannot be built.</summary>
    public void Validate()
    {
        if (VocabSize < 2) throw new ArgumentException($"vocab size must be ≥ 2, got {VocabSize}");
        if (ZChannels < 1 || Ch < 1) throw new ArgumentException("channel counts must be positive");
        if (ChMult.Length < 1) throw new ArgumentException("ch_mult must have at least one level");
        if (PatchNums.Length < 1) throw new ArgumentException("the scale schedule must not be empty");
        for (int i = 1; i < PatchNums.Length; i++)
        {
            if (PatchNums[i] <= PatchNums[i - 1])
                throw new ArgumentException($"patch nums must increase, got [{string.Join(",", PatchNums)}]");
        }
        if (PatchNums[0] < 1) throw new ArgumentException("patch nums must be positive");
    }
}
