using System.Text.Json.Serialization;

namespace Var.Model;

/// <summary>
/// Per-image sampling settings (var.md §3). Defaults are the official FID settings: cfg 1.5, top-k 900, top-p 0.96.
/// A model folder's model.json stores its recommended settings in this shape (<c>"sampling"</c>).
/// </summary>
public sealed record SamplingSettings
{
    /// <summary>Classifier-free guidance strength at the last scale; the ramp is t = cfg · si / (SN − 1).</summary>
    public double Cfg { get; init; } = 1.5;

    /// <summary>Keep the k largest logits (ties with the k-th kept); 0 = off.</summary>
    public int TopK { get; init; } = 900;

    /// <summary>Nucleus threshold in (0, 1]; 0 = off.</summary>
    public double TopP { get; init; } = 0.96;

    /// <summary>Gumbel-softmax "more smooth" embeddings instead of hard tokens (visualisation only, var.md §3.6.6).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool MoreSmooth { get; init; }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the bad field.</summary>
    public void Validate()
    {
        if (double.IsNaN(Cfg) || Cfg < 0 || Cfg > 50) throw new ArgumentOutOfRangeException(nameof(Cfg), Cfg, "cfg must be in [0, 50]");
        if (TopK < 0) throw new ArgumentOutOfRangeException(nameof(TopK), TopK, "top-k must be ≥ 0 (0 = off)");
        if (double.IsNaN(TopP) || TopP < 0 || TopP > 1) throw new ArgumentOutOfRangeException(nameof(TopP), TopP, "top-p must be in [0, 1] (0 = off)");
    }
}
