using System.Text.Json.Nodes;
using Var.Decoding.Decoders;
using Var.Decoding.Search;
using Var.Model;

namespace Var.Cli.Commands;

/// <summary>The decoder's own settings in a manifest line (local and remote runs write the same fields).</summary>
internal static class DecoderManifestFields
{
    /// <summary>
    /// Adds <c>draft_scales</c> and <c>refiner_cfg</c> for CoDe, budget and reward for TTS-VAR, <c>steps_per_scale</c>
    /// for HMAR (the schedule used on <paramref name="model"/>; without a model the requested one, empty for the
    /// default); nothing for plain VAR.
    /// </summary>
    public static JsonObject WithDecoderSettings(this JsonObject line, IDecoder decoder, ModelBundle? model = null)
    {
        if (decoder is CollaborativeDecoding code) line.WithCode(code.DraftScales, code.RefinerCfg);
        if (decoder is TtsSearch search) line.WithSearch(search.Budget, search.Reward);
        if (decoder is HmarDecoding hmar)
        {
            var passes = model is null ? hmar.PassesPerScale ?? [] : hmar.Schedule(model).Passes;
            line["steps_per_scale"] = new JsonArray(passes.Select(p => (JsonNode)p).ToArray());
        }
        return line;
    }

    /// <summary>Adds the TTS-VAR fields.</summary>
    public static JsonObject WithSearch(this JsonObject line, double budget, string reward)
    {
        line["budget"] = budget;
        line["reward"] = reward;
        return line;
    }

    /// <summary>Adds the CoDe fields.</summary>
    public static JsonObject WithCode(this JsonObject line, int draftScales, double? refinerCfg)
    {
        line["draft_scales"] = draftScales;
        if (refinerCfg is { } c) line["refiner_cfg"] = c;
        return line;
    }
}
