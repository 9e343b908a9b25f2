using System.CommandLine;
using Var.Decoding.Decoders;
using Var.Decoding.Search;
using Var.Model;
using Var.Model.Checkpoints;

namespace Var.Cli.Commands;

/// <summary>The decoder options of generate and eval: which decoding method and its settings.</summary>
internal sealed class DecoderArguments
{
    public readonly Option<string?> Decoder = new("--decoder") { Description = "Decoding method: var (plain VAR), code (CoDe: the drafter makes the coarse scales, the refiner the rest), tts (TTS-VAR test-time search within --budget) or hmar (HMAR: each scale attends only to itself, with masked steps inside a scale; needs an HMAR checkpoint or an hmar component). Default: the model folder's (model.json \"decoder\": hmar for fmnist), else var; hmar for an HMAR checkpoint; var with --transformer." };
    public readonly Option<string?> Steps = new("--steps") { Description = "HMAR: passes per scale, comma-separated, one per scale (1 = the next-scale pass alone; k > 1 adds k − 1 masked steps, each fixing about twice the tokens of the one before). Default: the reference's 1,2,4 on the first three scales and 1 after." };
    public readonly Option<int?> DraftScales = new("--draft-scales") { Description = "CoDe: scales made by the drafter, 1..K (K = all: the drafter alone). Default: the model's (model.json), else K−2." };
    public readonly Option<string?> Refiner = new("--refiner-transformer") { Description = "CoDe: which transformer of a model folder refines (default: refiner; e.g. refiner-n3, the shipped fmnist refiner specialised for N = 3)." };
    public readonly Option<double?> RefinerCfg = new("--refiner-cfg") { Description = "CoDe: guidance on the refiner's scales (the ramp continues on the absolute scale index). Default: --cfg." };
    public readonly Option<string?> Temperatures = new("--temperatures") { Description = "CoDe: one temperature per scale, comma-separated (applied after top-k/top-p). Default: CoDe's 1.1 on the first seven and 1.0 on the last three scales for 10-scale (256²) models, else 1." };

    public readonly Option<double?> Budget = new("--budget") { Description = "TTS-VAR: transformer work allowed per image, in plain samples (1 = plain sampling, at most 64). Default 4." };
    public readonly Option<string?> Reward = new("--reward") { Description = "TTS-VAR: what resampling and the final pick maximise: reward (the model's reward classifier, log p(class | partial image)) or implicit (the transformer's own conditional − unconditional log-likelihood; works with official checkpoints). Default: reward when the model has one, else implicit." };
    public readonly Option<double?> Lambda = new("--lambda") { Description = "TTS-VAR: λ of the resampling weights exp(λ·potential). Default: the model's (model.json tts.lambda), else 1." };
    public readonly Option<string?> ClusterScales = new("--cluster-scales") { Description = "TTS-VAR: scales after which candidates are clustered for diversity, comma-separated 0-based (empty string = none). Default: the model's." };
    public readonly Option<string?> ResampleScales = new("--resample-scales") { Description = "TTS-VAR: scales after which candidates are resampled by reward, comma-separated 0-based (empty string = none). Default: the model's." };
    public readonly Option<string?> PotentialOption = new("--potential") { Description = "TTS-VAR: potential of the resampling weights: value (default), diff, sum or max." };
    public readonly Option<int?> FinalDraws = new("--final-draws") { Description = "TTS-VAR: draws of the last scale per survivor from its one set of logits, all scored for the final best-of (more candidates at no transformer work: the tokens of a scale are drawn independently given the logits). Default: the model's (model.json tts.final_draws), else 1." };
    public readonly Option<int?> ResampleDraws = new("--resample-draws") { Description = "TTS-VAR: draws per candidate at each resample scale from its one set of logits; the resampling then chooses among all of them (no transformer work). Default: the model's (model.json tts.resample_draws), else 1." };
    public readonly Option<string?> Features = new("--features") { Description = "TTS-VAR: features for clustering: latent (f̂ itself, the default) or a classifier of the model (reward: its last spatial feature map)." };

    /// <summary>CoDe's sampler temperatures for the 10-scale 256² models (code.md §2.2: [1.1]·7 + [1.0]·3).</summary>
    private static readonly double[] ReferenceTemperatures = [1.1, 1.1, 1.1, 1.1, 1.1, 1.1, 1.1, 1.0, 1.0, 1.0];

    public void AddTo(Command cmd)
    {
        foreach (var o in new Option[] { Decoder, Steps, DraftScales, Refiner, RefinerCfg, Temperatures, Budget, Reward, Lambda, ClusterScales, ResampleScales, PotentialOption, Features, FinalDraws, ResampleDraws }) cmd.Options.Add(o);
    }

    /// <summary>HMAR's passes per scale from <c>--steps</c>, or null when not given.</summary>
    public int[]? StepsOf(ParseResult pr) => pr.GetValue(Steps) is { } steps ? ParseInts(steps, "--steps") : null;

    /// <summary>The decoder asked for; throws <see cref="ArgumentException"/> naming the bad option.</summary>
    public IDecoder Create(ParseResult pr, ModelBundle model) => Create(new DecoderChoice
    {
        Kind = pr.GetValue(Decoder),
        Steps = StepsOf(pr),
        DraftScales = pr.GetValue(DraftScales),
        Refiner = pr.GetValue(Refiner),
        RefinerCfg = pr.GetValue(RefinerCfg),
        Temperatures = pr.GetValue(Temperatures) is { } list ? ParseDoubles(list, "--temperatures") : null,
        Budget = pr.GetValue(Budget),
        Reward = pr.GetValue(Reward),
        Lambda = pr.GetValue(Lambda),
        ClusterScales = pr.GetValue(ClusterScales) is { } c ? ParseInts(c, "--cluster-scales") : null,
        ResampleScales = pr.GetValue(ResampleScales) is { } r ? ParseInts(r, "--resample-scales") : null,
        Potential = pr.GetValue(PotentialOption),
        Features = pr.GetValue(Features),
        FinalDraws = pr.GetValue(FinalDraws),
        ResampleDraws = pr.GetValue(ResampleDraws),
    }, model);

    /// <summary>
    /// The decoder of <paramref name="choice"/> for <paramref name="model"/> (the command line's or a batch job
    /// line's); throws <see cref="ArgumentException"/> naming the bad setting in the choice's own spelling.
    /// </summary>
    public static IDecoder Create(DecoderChoice choice, ModelBundle model)
    {
        string Name(string option) => !choice.FieldNames ? option : option == "--steps" ? "steps_per_scale" : option.TrimStart('-').Replace("-transformer", "").Replace('-', '_');
        bool hmarModel = model.Hmar.ContainsKey(model.DefaultTransformer);
        // Settings of another decoder without --decoder keep var as the default, whose checks below name the decoder they need.
        bool otherSettings = choice.SearchGiven || choice.DraftScales is not null || choice.Refiner is not null || choice.RefinerCfg is not null || choice.Temperatures is not null;
        var kind = (choice.Kind ?? (otherSettings && !hmarModel ? "var" : model.UnnamedDecoder)).Trim().ToLowerInvariant();
        if (kind != "hmar" && choice.Steps is not null) throw new ArgumentException($"{Name("--steps")} needs {Name("--decoder")} hmar");
        if (kind != "hmar" && hmarModel)
            throw new ArgumentException($"model '{model.Name}' is an HMAR model: use {Name("--decoder")} hmar (its transformer attends within each scale only and has no KV cache for {kind})");
        switch (kind)
        {
            case "var" or "code" when choice.SearchGiven:
                throw new ArgumentException($"{Name("--budget")}, {Name("--reward")}, {Name("--lambda")}, {Name("--cluster-scales")}, {Name("--resample-scales")}, {Name("--potential")}, {Name("--features")}, {Name("--final-draws")} and {Name("--resample-draws")} need {Name("--decoder")} tts");
            case "var":
                if (choice.DraftScales is not null || choice.Refiner is not null || choice.RefinerCfg is not null || choice.Temperatures is not null)
                    throw new ArgumentException($"{Name("--draft-scales")}, {Name("--refiner-transformer")}, {Name("--refiner-cfg")} and {Name("--temperatures")} need {Name("--decoder")} code");
                return new VarDecoding(model.DefaultTransformer);
            case "code":
                if (!model.Transformers.ContainsKey(CollaborativeDecoding.DefaultRefiner))
                    throw new ArgumentException($"{Name("--decoder")} code needs a refiner: model '{model.Name}' has none (use --refiner FILE with --vae/--var, or a model folder with a 'refiner' component)");
                if (choice.Refiner is { } role && (!model.Transformers.ContainsKey(role) || role == model.DefaultTransformer))
                    throw new ArgumentException($"{Name("--refiner-transformer")} '{role}' is not a refiner of model '{model.Name}' (has: {string.Join(", ", model.Transformers.Keys.Where(t => t != model.DefaultTransformer))})");
                int k = model.Vqvae.Config.PatchNums.Length;
                int n = choice.DraftScales ?? model.DefaultDraftScales ?? Math.Max(1, k - 2);
                if (n < 1 || n > k) throw new ArgumentException($"{Name("--draft-scales")} {n} is out of range 1..{k} (the model has {k} scales)");
                var temperatures = choice.Temperatures ?? (k == ReferenceTemperatures.Length ? ReferenceTemperatures : null);
                if (temperatures is not null && (temperatures.Count != k || temperatures.Any(t => !(t > 0) || double.IsInfinity(t))))
                    throw new ArgumentException($"{Name("--temperatures")} needs {k} positive values (one per scale), got '{string.Join(",", temperatures)}'");
                var refiner = choice.Refiner ?? CollaborativeDecoding.DefaultRefiner;
                var decoder = new CollaborativeDecoding(n, model.DefaultTransformer, refiner, choice.RefinerCfg, temperatures?.ToArray());
                decoder.Plan(model);
                return decoder;
            case "tts" or "tts-var" or "tts_var":
                if (choice.DraftScales is not null || choice.Refiner is not null || choice.RefinerCfg is not null || choice.Temperatures is not null)
                    throw new ArgumentException($"{Name("--draft-scales")}, {Name("--refiner-transformer")}, {Name("--refiner-cfg")} and {Name("--temperatures")} need {Name("--decoder")} code");
                var search = new TtsSearch(choice.Budget ?? DefaultBudget, choice.Reward ?? DefaultReward(model))
                {
                    Lambda = choice.Lambda,
                    ClusterScales = choice.ClusterScales,
                    ResampleScales = choice.ResampleScales,
                    Potential = ParsePotential(choice.Potential, Name("--potential")),
                    Features = choice.Features,
                    FinalDraws = choice.FinalDraws,
                    ResampleDraws = choice.ResampleDraws,
                    Base = new VarDecoding(model.DefaultTransformer),
                };
                search.Plan(model);
                return search;
            case "hmar":
                if (choice.SearchGiven || choice.DraftScales is not null || choice.Refiner is not null || choice.RefinerCfg is not null || choice.Temperatures is not null)
                    throw new ArgumentException($"{Name("--decoder")} hmar takes {Name("--steps")}; the CoDe and TTS-VAR settings do not apply");
                var hmarRole = hmarModel ? model.DefaultTransformer : ModelLoader.HmarRole;
                if (!model.Hmar.ContainsKey(hmarRole))
                    throw new ArgumentException($"{Name("--decoder")} hmar needs an HMAR transformer: model '{model.Name}' has none (use --var hmar-d16.pth with --vae, or a model folder with an 'hmar' component)");
                var hmar = new HmarDecoding(choice.Steps, hmarRole);
                try
                {
                    hmar.Plan(model);
                }
                catch (ArgumentException e)
                {
                    throw new ArgumentException($"{Name("--steps")} '{(choice.Steps is null ? "" : string.Join(",", choice.Steps))}': {e.Message}");
                }
                return hmar;
            default:
                throw new ArgumentException($"unknown {Name("--decoder")} '{kind}' (var, code, tts or hmar)");
        }
    }

    /// <summary>The search budget used when --budget is not given.</summary>
    public const double DefaultBudget = 4;

    /// <summary>The reward a search uses unless told: the model's reward classifier, else the implicit classifier.</summary>
    public static string DefaultReward(ModelBundle model) => model.Classifiers.ContainsKey(TtsSearch.DefaultReward) ? TtsSearch.DefaultReward : ImplicitReward.RoleName;

    private static Potential ParsePotential(string? text, string option) => text?.Trim().ToLowerInvariant() switch
    {
        null or "value" => Potential.Value,
        "diff" => Potential.Diff,
        "sum" => Potential.Sum,
        "max" => Potential.Max,
        _ => throw new ArgumentException($"{option} '{text}' is not one of value, diff, sum, max"),
    };

    private static int[] ParseInts(string text, string option) => ParseList(text, option, "integers", int.Parse);

    private static double[] ParseDoubles(string text, string option) => ParseList(text, option, "numbers", double.Parse);

    private static T[] ParseList<T>(string text, string option, string what, Func<string, IFormatProvider, T> parse)
    {
        try
        {
            return text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                .Select(t => parse(t, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        }
        catch (FormatException)
        {
            throw new ArgumentException($"{option} '{text}' is not a comma-separated list of {what}");
        }
    }
}
