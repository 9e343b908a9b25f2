using System.Text.Json;
using System.Text.Json.Nodes;
using Var.Model.Transformer;
using Var.Model.Vqvae;

namespace Var.Model.Checkpoints;

/// <summary>One component of a model folder.</summary>
public sealed record ComponentEntry
{
    /// <summary>"vqvae", "var" or "classifier".</summary>
    public string Kind { get; init; } = "";

    /// <summary>Safetensors file, relative to the model folder.</summary>
    public string File { get; init; } = "";

    /// <summary>Architecture (a <see cref="VqvaeConfig"/>, <see cref="VarConfig"/> or classifier config as JSON).</summary>
    public JsonObject Config { get; init; } = [];

    /// <summary>How it was made: command, steps, samples, wall time, seed, date.</summary>
    public JsonObject? Provenance { get; init; }

    /// <summary>Measured quality (PSNR, accuracy, Fréchet distance …).</summary>
    public JsonObject? Quality { get; init; }

    /// <summary>Parameter count.</summary>
    public long? Parameters { get; init; }

    /// <summary>The configuration as a typed record.</summary>
    public T ConfigAs<T>() => Config.Deserialize<T>(ModelManifest.Json) ?? throw new JsonException("empty config");

    /// <summary>A JSON object for a typed configuration.</summary>
    public static JsonObject ConfigFrom<T>(T config) => JsonSerializer.SerializeToNode(config, ModelManifest.Json)!.AsObject();
}
