using System.CommandLine;
using Var.Decoding.Sampling;
using Var.Model;

namespace Var.Cli.Commands;

/// <summary>The sampling options shared by generate, edit, batch and bench.</summary>
internal sealed class SamplingOptions
{
    public readonly Option<double?> Cfg = new("--cfg") { Description = "Guidance strength at the last scale (ramped from 0). Default: the model's (official: 1.5)." };
    public readonly Option<int?> TopK = new("--top-k") { Description = "Keep the k most likely tokens, 0 = off. Default: the model's (official: 900)." };
    public readonly Option<double?> TopP = new("--top-p") { Description = "Nucleus sampling threshold, 0 = off. Default: the model's (official: 0.96)." };
    public readonly Option<bool> MoreSmooth = new("--more-smooth") { Description = "Gumbel-softmax embeddings (smoother visuals; not for FID)." };

    public void AddTo(Command cmd)
    {
        foreach (var o in new Option[] { Cfg, TopK, TopP, MoreSmooth }) cmd.Options.Add(o);
    }

    public SamplingSettings Settings(ParseResult pr, ModelBundle model) =>
        Settings(pr.GetValue(Cfg), pr.GetValue(TopK), pr.GetValue(TopP), pr.GetValue(MoreSmooth), model);

    /// <summary>The settings asked for, the model's defaults where unset; throws <see cref="ArgumentException"/> when out of range.</summary>
    public static SamplingSettings Settings(double? cfg, int? topK, double? topP, bool moreSmooth, ModelBundle model)
    {
        var s = new SamplingSettings
        {
            Cfg = cfg ?? model.Sampling.Cfg,
            TopK = topK ?? model.Sampling.TopK,
            TopP = topP ?? model.Sampling.TopP,
            MoreSmooth = moreSmooth,
        };
        s.Validate();
        return s;
    }
}
