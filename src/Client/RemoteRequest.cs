namespace Var.Client;

/// <summary>What a client asks a generation server for. Null fields mean "the model's default".</summary>
public sealed record RemoteRequest
{
    /// <summary>Model name on the server; null = the server's default model.</summary>
    public string? Model { get; init; }

    /// <summary>Class id ("4") or name ("coat"); empty = unconditional (edits only).</summary>
    public required string Class { get; init; }

    /// <summary>Number of images (ignored when <see cref="Seeds"/> is given).</summary>
    public int Count { get; init; } = 1;

    /// <summary>Base seed: image i gets Seed + i. Null (and no <see cref="Seeds"/>): the server picks one and reports it per image.</summary>
    public long? Seed { get; init; }

    /// <summary>One seed per image.</summary>
    public IReadOnlyList<long>? Seeds { get; init; }

    /// <summary>Guidance at the last scale.</summary>
    public double? Cfg { get; init; }

    /// <summary>Top-k (0 = off).</summary>
    public int? TopK { get; init; }

    /// <summary>Top-p (0 = off).</summary>
    public double? TopP { get; init; }

    /// <summary>Gumbel "more smooth" embeddings.</summary>
    public bool MoreSmooth { get; init; }

    /// <summary>Decoder: "var", "code", "tts" or "hmar"; "" (the default) sends none, so the server decodes with the model's default (var, or what its model.json names).</summary>
    public string Decoder { get; init; } = "";

    /// <summary>CoDe: scales made by the drafter (null = the model's default).</summary>
    public int? DraftScales { get; init; }

    /// <summary>CoDe: the model's transformer that refines (null = its "refiner").</summary>
    public string? Refiner { get; init; }

    /// <summary>CoDe: guidance on the refiner's scales (null = <see cref="Cfg"/>).</summary>
    public double? RefinerCfg { get; init; }

    /// <summary>
    /// HMAR: passes per scale, one per scale (1 = the next-scale pass alone, k &gt; 1 adds k − 1 masked steps); null =
    /// the reference default. Sent as <c>HmarDecoder.steps_per_scale</c>.
    /// </summary>
    public IReadOnlyList<int>? StepsPerScale { get; init; }

    /// <summary>TTS-VAR: transformer work per image in plain samples (null = the server's default, 4).</summary>
    public double? Budget { get; init; }

    /// <summary>TTS-VAR: "reward" or "implicit" (null = the server's default).</summary>
    public string? Reward { get; init; }

    /// <summary>"png", "jpeg" or "tokens".</summary>
    public string Format { get; init; } = "png";

    /// <summary>JPEG quality 1..100 (null = server default 90).</summary>
    public int? JpegQuality { get; init; }

    /// <summary>Ask for a preview PNG of every image after every scale (delivered through the progress callback).</summary>
    public bool Preview { get; init; }

    /// <summary>Call deadline; null = none.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>Id for the server's logs; null = the server makes one.</summary>
    public string? RequestId { get; init; }
}
