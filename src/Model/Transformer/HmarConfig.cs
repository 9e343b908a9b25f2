using System.Text.Json.Serialization;

namespace Var.Model.Transformer;

/// <summary>
/// Architecture of an HMAR transformer (hmar.md §1): VAR's backbone of <see cref="VarConfig.Depth"/> blocks, whose
/// last <see cref="TailDepth"/> blocks and head exist twice, once for next-scale and once for masked prediction.
/// </summary>
public sealed record HmarConfig
{
    /// <summary>The backbone: width, heads, classes, tokenizer, scales; Depth = shared trunk + one tail.</summary>
    public VarConfig Backbone { get; init; } = new();

    /// <summary>Blocks in each tail (n_layers_train; 8 for every released size, hmar.md §1).</summary>
    public int TailDepth { get; init; } = 8;

    /// <summary>Blocks of the shared trunk.</summary>
    [JsonIgnore]
    public int BaseDepth => Backbone.Depth - TailDepth;

    /// <summary>Throws <see cref="ArgumentException"/> when the configuration cannot be built.</summary>
    public void Validate()
    {
        Backbone.Validate();
        if (Backbone.SharedAdaLn) throw new ArgumentException("HMAR has per-block AdaLN projections (no shared_ada_lin)");
        if (TailDepth < 1 || TailDepth > Backbone.Depth)
            throw new ArgumentException($"tail depth must be in 1..{Backbone.Depth} (the backbone's depth), got {TailDepth}");
    }
}
