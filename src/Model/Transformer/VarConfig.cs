using System.Text.Json.Serialization;

namespace Var.Model.Transformer;

/// <summary>Architecture of a VAR transformer (var.md §2). Defaults: the official d16 at 256².</summary>
public sealed record VarConfig
{
    /// <summary>Number of AdaLN blocks.</summary>
    public int Depth { get; init; } = 16;

    /// <summary>Width C.</summary>
    public int EmbedDim { get; init; } = 1024;

    /// <summary>Attention heads; head dim = C / heads.</summary>
    public int NumHeads { get; init; } = 16;

    /// <summary>Number of real classes; the class table has one more row, the unconditional class.</summary>
    public int NumClasses { get; init; } = 1000;

    /// <summary>Codebook size V of the tokenizer (logits per token).</summary>
    public int VocabSize { get; init; } = 4096;

    /// <summary>Latent channels Cvae of the tokenizer.</summary>
    public int VaeChannels { get; init; } = 32;

    /// <summary>Token-map sides per scale.</summary>
    public int[] PatchNums { get; init; } = [1, 2, 3, 4, 5, 6, 8, 10, 13, 16];

    /// <summary>l2-normalised q/k with a learned per-head temperature (the released checkpoints); false = plain 0.25/√d attention.</summary>
    public bool AttnL2Norm { get; init; } = true;

    /// <summary>One AdaLN projection shared by all blocks plus per-block offsets (d36).</summary>
    public bool SharedAdaLn { get; init; }

    /// <summary>MLP hidden width ratio.</summary>
    public double MlpRatio { get; init; } = 4.0;

    /// <summary>LayerNorm epsilon.</summary>
    public double NormEps { get; init; } = 1e-6;

    /// <summary>Class-dropout rate used in training (var.md §2.6).</summary>
    public double CondDropRate { get; init; } = 0.1;

    /// <summary>Stochastic-depth rate of the last block in training (linearly spread from 0).</summary>
    public double DropPathRate { get; init; }

    /// <summary>Per-head dimension.</summary>
    [JsonIgnore]
    public int HeadDim => EmbedDim / NumHeads;

    /// <summary>MLP hidden width, round(C · ratio).</summary>
    [JsonIgnore]
    public int MlpHidden => (int)Math.Round(EmbedDim * MlpRatio);

    /// <summary>Number of scales.</summary>
    [JsonIgnore]
    public int NumScales => PatchNums.Length;

    /// <summary>Total tokens L = Σ pn².</summary>
    [JsonIgnore]
    public int TotalTokens => PatchNums.Sum(p => p * p);

    /// <summary>Index of the unconditional class row.</summary>
    [JsonIgnore]
    public int NullClass => NumClasses;

    /// <summary>Throws <see cref="ArgumentException"/> when the configuration cannot be built.</summary>
    public void Validate()
    {
        if (Depth < 1) throw new ArgumentException($"depth must be ≥ 1, got {Depth}");
        if (NumHeads < 1 || EmbedDim % NumHeads != 0)
            throw new ArgumentException($"width {EmbedDim} is not divisible by {NumHeads} heads");
        if (PatchNums.Length < 1) throw new ArgumentException("the scale schedule must not be empty");
        if (NumClasses < 1) throw new ArgumentException("at least one class is needed");
    }
}
