using System.Text.Json.Nodes;
using Var.Cli.Commands;

namespace Var.Cli.Batch;

/// <summary>
/// One line of a jobs file: what to make, in the field names of the CLI and the proto. Paths are already resolved
/// against the jobs file's folder. A job with an <see cref="Image"/> is an edit.
/// </summary>
internal sealed record BatchJob
{
    /// <summary>1-based line number in the jobs file.</summary>
    public required int Line { get; init; }

    /// <summary>The line as written (echoed into every manifest line of its images).</summary>
    public required JsonObject Source { get; init; }

    /// <summary>Model name (null = the default model; the server's default in server mode).</summary>
    public string? Model { get; init; }

    /// <summary>Class id or name; null only for edits without a class.</summary>
    public string? Class { get; init; }

    /// <summary>One seed per image, in order.</summary>
    public required IReadOnlyList<long> Seeds { get; init; }

    /// <summary>Guidance (null = the model's default).</summary>
    public double? Cfg { get; init; }

    /// <summary>Top-k (null = the model's default).</summary>
    public int? TopK { get; init; }

    /// <summary>Top-p (null = the model's default).</summary>
    public double? TopP { get; init; }

    /// <summary>Gumbel "more smooth" embeddings.</summary>
    public bool MoreSmooth { get; init; }

    /// <summary>Decoder and its settings (job-line field names in errors).</summary>
    public DecoderChoice Decoder { get; init; } = new() { FieldNames = true };

    /// <summary>Output name prefix (null = named after class and seed, as <c>var generate</c>).</summary>
    public string? Name { get; init; }

    /// <summary>Edit: the image to edit.</summary>
    public string? Image { get; init; }

    /// <summary>Edit: the mask file.</summary>
    public string? Mask { get; init; }

    /// <summary>Edit: the box "x0,y0,x1,y1".</summary>
    public string? Box { get; init; }

    /// <summary>Edit: inpaint, outpaint or edit.</summary>
    public string? Mode { get; init; }

    /// <summary>Edit: feathering radius.</summary>
    public int Feather { get; init; }

    /// <summary>Whether the job edits an image.</summary>
    public bool IsEdit => Image is not null;
}
