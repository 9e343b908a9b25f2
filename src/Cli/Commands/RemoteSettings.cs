using System.CommandLine;
using Var.Client;

namespace Var.Cli.Commands;

/// <summary>
/// The generation settings a <c>--server</c> command sends, read once from its options (model, sampling, decoder and
/// its settings): <c>generate</c> and <c>edit</c> fill in class, count and seed.
/// </summary>
internal static class RemoteSettings
{
    /// <summary>The request of <paramref name="pr"/>'s options without class, count or seed.</summary>
    public static RemoteRequest Request(ParseResult pr, ModelArguments models, SamplingOptions sampling, DecoderArguments decoders)
    {
        // No --decoder: none is sent and the server uses the model's default (--steps alone asks for hmar).
        var steps = decoders.StepsOf(pr);
        var decoder = pr.GetValue(decoders.Decoder) ?? (steps is not null ? "hmar" : "");
        if (steps is not null && !decoder.Trim().Equals("hmar", StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException("--steps needs --decoder hmar");
        return new RemoteRequest
        {
            Class = "",
            Model = pr.GetValue(models.Model),
            Cfg = pr.GetValue(sampling.Cfg),
            TopK = pr.GetValue(sampling.TopK),
            TopP = pr.GetValue(sampling.TopP),
            MoreSmooth = pr.GetValue(sampling.MoreSmooth),
            Decoder = decoder,
            DraftScales = pr.GetValue(decoders.DraftScales),
            Refiner = pr.GetValue(decoders.Refiner),
            RefinerCfg = pr.GetValue(decoders.RefinerCfg),
            Budget = pr.GetValue(decoders.Budget),
            Reward = pr.GetValue(decoders.Reward),
            StepsPerScale = steps,
        };
    }
}
