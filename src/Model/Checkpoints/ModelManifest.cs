using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Var.Model.Transformer;
using Var.Model.Vqvae;

namespace Var.Model.Checkpoints;

/// <summary>
/// <c>model.json</c> of a model folder under weights/: the image size, class names and one entry per component
/// (tokenizer, transformers, classifiers), each naming its safetensors file, configuration, provenance and quality.
/// </summary>
public sealed record ModelManifest
{
    /// <summary>File name of the manifest inside a model folder.</summary>
    public const string FileName = "model.json";

    /// <summary>JSON options used for every manifest (snake_case, indented).</summary>
    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Model name (the folder name under weights/).</summary>
    public string Name { get; init; } = "";

    /// <summary>One-line description.</summary>
    public string Description { get; init; } = "";

    /// <summary>Side of the square RGB images the model produces.</summary>
    public int ImageSize { get; init; }

    /// <summary>Class names by id; each entry may list synonyms separated by commas (first = display name).</summary>
    public List<string> Classes { get; init; } = [];

    /// <summary>Recommended sampling settings for this model (null: the official defaults).</summary>
    public SamplingSettings? Sampling { get; init; }

    /// <summary>Collaborative-decoding defaults (drafter "var", refiner "refiner"), or null.</summary>
    public CodeDefaults? Code { get; init; }

    /// <summary>TTS-VAR search defaults (selection scales, λ), or null.</summary>
    public SearchDefaults? Tts { get; init; }

    /// <summary>HMAR defaults (the schedule of masked steps), or null: the reference's default schedule.</summary>
    public HmarDefaults? Hmar { get; init; }

    /// <summary>
    /// The decoder of a request that names none: "var" (also when null) or "hmar" (needs an 'hmar' component), chosen
    /// by a measurement recorded in the folder.
    /// </summary>
    public string? Decoder { get; init; }

    /// <summary>
    /// Classes drawn by a transformer of their own, by class name → transformer role (a class taught with
    /// <c>var train subject</c>: its tuned copy draws it, the untouched base draws every other class); null = none.
    /// </summary>
    public Dictionary<string, string>? ClassTransformers { get; init; }

    /// <summary>Components by role: "vqvae", "var" (the default generator), "refiner", "reward", "judge", …</summary>
    public Dictionary<string, ComponentEntry> Components { get; init; } = [];

    /// <summary>Reads and validates a manifest file.</summary>
    public static ModelManifest Read(string path)
    {
        if (!File.Exists(path)) throw new CheckpointException(path, "model manifest not found");
        try
        {
            return JsonSerializer.Deserialize<ModelManifest>(File.ReadAllText(path), Json)
                ?? throw new CheckpointException(path, "empty model manifest");
        }
        catch (JsonException e)
        {
            throw new CheckpointException(path, $"invalid model manifest: {e.Message}", e);
        }
    }

    /// <summary>Writes the manifest as indented JSON.</summary>
    public void Write(string path) => File.WriteAllText(path, JsonSerializer.Serialize(this, Json) + "\n");

    /// <summary>The component of a role, or a <see cref="CheckpointException"/> naming the manifest.</summary>
    public ComponentEntry Component(string role, string manifestPath) =>
        Components.TryGetValue(role, out var c) ? c : throw new CheckpointException(manifestPath, $"no component '{role}' (has: {string.Join(", ", Components.Keys)})");
}
