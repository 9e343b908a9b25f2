namespace Var.Cli.Commands;

/// <summary>A decoder and its settings as a user asked for them (command line or batch job line), before validation.</summary>
internal sealed record DecoderChoice
{
    /// <summary>"var", "code", "tts" or "hmar" (as typed); null = "hmar" for an HMAR model, else "var".</summary>
    public string? Kind { get; init; }

    /// <summary>HMAR: passes per scale (null = the reference default).</summary>
    public IReadOnlyList<int>? Steps { get; init; }

    /// <summary>CoDe: scales made by the drafter (null = the model's default).</summary>
    public int? DraftScales { get; init; }

    /// <summary>CoDe: the model folder's transformer that refines (null = "refiner").</summary>
    public string? Refiner { get; init; }

    /// <summary>CoDe: guidance on the refiner's scales (null = the request's cfg).</summary>
    public double? RefinerCfg { get; init; }

    /// <summary>CoDe: one temperature per scale (null = CoDe's defaults).</summary>
    public IReadOnlyList<double>? Temperatures { get; init; }

    /// <summary>TTS-VAR: transformer work allowed per image in plain samples (null = the default, 4).</summary>
    public double? Budget { get; init; }

    /// <summary>TTS-VAR: "reward" or "implicit" (null = reward when the model has one).</summary>
    public string? Reward { get; init; }

    /// <summary>TTS-VAR: λ of the resampling weights (null = the model's).</summary>
    public double? Lambda { get; init; }

    /// <summary>TTS-VAR: cluster scales (null = the model's).</summary>
    public IReadOnlyList<int>? ClusterScales { get; init; }

    /// <summary>TTS-VAR: resample scales (null = the model's).</summary>
    public IReadOnlyList<int>? ResampleScales { get; init; }

    /// <summary>TTS-VAR: potential variant (null = value).</summary>
    public string? Potential { get; init; }

    /// <summary>TTS-VAR: clustering features (null = latent).</summary>
    public string? Features { get; init; }

    /// <summary>TTS-VAR: draws of the last scale per survivor (null = the model's).</summary>
    public int? FinalDraws { get; init; }

    /// <summary>TTS-VAR: draws per candidate at each resample scale (null = the model's).</summary>
    public int? ResampleDraws { get; init; }

    /// <summary>Whether any TTS-VAR setting was given.</summary>
    public bool SearchGiven => Budget is not null || Reward is not null || Lambda is not null || ClusterScales is not null || ResampleScales is not null || Potential is not null || Features is not null || FinalDraws is not null || ResampleDraws is not null;

    /// <summary>Errors name job-line fields (<c>draft_scales</c>) instead of options (<c>--draft-scales</c>).</summary>
    public bool FieldNames { get; init; }
}
