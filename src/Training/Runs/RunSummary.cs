using System.Text.Json;
using System.Text.Json.Nodes;
using Var.Model.Checkpoints;

namespace Var.Training.Runs;

/// <summary>
/// <c>summary.json</c> beside a run's <c>model.safetensors</c>: what a manifest entry needs (kind, configuration,
/// parameter count, provenance and measured quality). Written at every checkpoint so early weights are shippable.
/// </summary>
public sealed record RunSummary
{
    /// <summary>Component kind: "vqvae", "var", "hmar" or "classifier".</summary>
    public string Kind { get; init; } = "";

    /// <summary>The architecture as JSON.</summary>
    public JsonObject Config { get; init; } = [];

    /// <summary>Parameter count.</summary>
    public long Parameters { get; init; }

    /// <summary>command, steps, samples_seen, wall_seconds, seed, date, finished.</summary>
    public JsonObject Provenance { get; init; } = [];

    /// <summary>Measured quality (latest evaluation).</summary>
    public JsonObject Quality { get; init; } = [];

    /// <summary>Provenance for a run at <paramref name="progress"/>.</summary>
    public static JsonObject ProvenanceOf(RunOptions options, RunProgress progress) => new()
    {
        ["command"] = options.Command,
        ["steps"] = progress.Step,
        ["planned_steps"] = options.Steps,
        ["samples_seen"] = progress.SamplesSeen,
        ["wall_seconds"] = Math.Round(progress.WallSeconds, 1),
        ["seed"] = options.Seed,
        ["date"] = DateTime.UtcNow.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
        ["finished"] = progress.Finished,
    };

    /// <summary>Writes the summary as indented snake_case JSON (atomically).</summary>
    public void Write(string path)
    {
        string tmp = path + ".tmp";
        File.WriteAllText(tmp, JsonSerializer.Serialize(this, ModelManifest.Json) + "\n");
        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>Reads a summary.</summary>
    public static RunSummary Read(string path) =>
        JsonSerializer.Deserialize<RunSummary>(File.ReadAllText(path), ModelManifest.Json) ?? throw new InvalidDataException($"{path}: empty summary");

    /// <summary>Number of parameters of a module.</summary>
    public static long CountParameters(nn.Module module) => module.parameters().Sum(p => p.numel());
}
