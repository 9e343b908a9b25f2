namespace Var.Model;

/// <summary>model.json <c>"tts"</c>: a model's measured TTS-VAR defaults and how they were chosen.</summary>
public sealed record SearchDefaults
{
    /// <summary>Scales after which candidates are clustered.</summary>
    public List<int>? ClusterScales { get; init; }

    /// <summary>Scales after which candidates are resampled by reward.</summary>
    public List<int>? ResampleScales { get; init; }

    /// <summary>Relative candidates per scale (scaled to each budget).</summary>
    public List<double>? Shape { get; init; }

    /// <summary>λ of the resampling weights for the default reward.</summary>
    public double? Lambda { get; init; }

    /// <summary>Draws of the last scale per survivor for the final best-of (no transformer work; 1 = off).</summary>
    public int? FinalDraws { get; init; }

    /// <summary>Draws per candidate at each resample scale (no transformer work; 1 = off).</summary>
    public int? ResampleDraws { get; init; }

    /// <summary>The measurement behind the choice.</summary>
    public string? Note { get; init; }
}
