using System.Text.Json.Nodes;
using Var.Client;
using Var.Decoding.Decoders;
using Var.Decoding.Sampling;
using Var.Model;

namespace Var.Cli.Commands;

/// <summary>The fields of a <c>manifest.jsonl</c> line for one image: the same for generate, edit and batch.</summary>
internal static class ManifestLines
{
    /// <summary>An image made by the local engine: file, class, seed, model, decoder and its settings, sampling settings.</summary>
    public static JsonObject Local(string file, ModelBundle model, IDecoder decoder, SampleRequest request, int size)
    {
        string className = request.ClassId < model.Classes.Count ? model.Classes.NameOf(request.ClassId) : "unconditional";
        return new JsonObject
        {
            ["file"] = file,
            ["class"] = request.ClassId,
            ["class_name"] = className,
            ["seed"] = request.Seed,
            ["model"] = model.Name,
            ["decoder"] = decoder.Kind,
            ["cfg"] = request.Settings.Cfg,
            ["top_k"] = request.Settings.TopK,
            ["top_p"] = request.Settings.TopP,
            ["more_smooth"] = request.Settings.MoreSmooth,
            ["dtype"] = model.ComputeType.ToString().ToLowerInvariant(),
            ["size"] = size,
        }.WithDecoderSettings(decoder, model);
    }

    /// <summary>An image made by a server: the settings it reports it used, and its timings.</summary>
    public static JsonObject Remote(string file, RemoteImage image, string server)
    {
        var line = new JsonObject
        {
            ["file"] = file,
            ["class"] = image.ClassId,
            ["class_name"] = image.ClassName,
            ["seed"] = image.Seed,
            ["model"] = image.Model,
            ["decoder"] = image.Decoder,
            ["cfg"] = image.Cfg,
            ["top_k"] = image.TopK,
            ["top_p"] = image.TopP,
            ["more_smooth"] = image.MoreSmooth,
            ["size"] = image.Size,
            ["server"] = server,
            ["queue_ms"] = Math.Round(image.QueueMs, 1),
            ["generation_ms"] = Math.Round(image.GenerationMs, 1),
            ["batch_size"] = image.BatchSize,
        };
        if (image.Decoder == "code") line.WithCode(image.DraftScales, image.RefinerCfg);
        if (image.Decoder == "tts") line.WithSearch(image.Budget, image.Reward);
        return line;
    }
}
