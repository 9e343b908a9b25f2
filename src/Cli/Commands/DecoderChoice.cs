namespace Var.Cli.Commands;

/// <summary>A decoder and its settings as a user asked for them (command line or batch job line), before validation.</summary>
internal sealed record DecoderChoice
{
    /// <summary>"var" or "code" (as typed).</summary>
    public string Kind { get; init; } = "var";

    /// <summary>CoDe: scales made by the drafter (null = the model's default).</summary>
    public int? DraftScales { get; init; }

    /// <summary>CoDe: the model folder's transformer that refines (null = "refiner").</summary>
    public string? Refiner { get; init; }

    /// <summary>CoDe: guidance on the refiner's scales (null = the request's cfg).</summary>
    public double? RefinerCfg { get; init; }

    /// <summary>CoDe: one temperature per scale (null = CoDe's defaults).</summary>
    public IReadOnlyList<double>? Temperatures { get; init; }

    /// <summary>Errors name job-line fields (<c>draft_scales</c>) instead of options (<c>--draft-scales</c>).</summary>
    public bool FieldNames { get; init; }
}
