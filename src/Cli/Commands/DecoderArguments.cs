using System.CommandLine;
using Var.Decoding.Decoders;
using Var.Model;

namespace Var.Cli.Commands;

/// <summary>The decoder options of generate and eval: which decoding method and its settings.</summary>
internal sealed class DecoderArguments
{
    public readonly Option<string> Decoder = new("--decoder") { Description = "Decoding method: var (plain VAR) or code (CoDe: the drafter makes the coarse scales, the refiner the rest). HMAR and TTS-VAR are not available yet.", DefaultValueFactory = _ => "var" };
    public readonly Option<int?> DraftScales = new("--draft-scales") { Description = "CoDe: scales made by the drafter, 1..K (K = all: the drafter alone). Default: the model's (model.json), else K−2." };
    public readonly Option<string?> Refiner = new("--refiner-transformer") { Description = "CoDe: which transformer of a model folder refines (default: refiner; e.g. refiner-n4, a refiner specialised for N = 4)." };
    public readonly Option<double?> RefinerCfg = new("--refiner-cfg") { Description = "CoDe: guidance on the refiner's scales (the ramp continues on the absolute scale index). Default: --cfg." };
    public readonly Option<string?> Temperatures = new("--temperatures") { Description = "CoDe: one temperature per scale, comma-separated (applied after top-k/top-p). Default: CoDe's 1.1 on the first seven and 1.0 on the last three scales for 10-scale (256²) models, else 1." };

    /// <summary>CoDe's sampler temperatures for the 10-scale 256² models (code.md §2.2: [1.1]·7 + [1.0]·3).</summary>
    private static readonly double[] ReferenceTemperatures = [1.1, 1.1, 1.1, 1.1, 1.1, 1.1, 1.1, 1.0, 1.0, 1.0];

    public void AddTo(Command cmd)
    {
        foreach (var o in new Option[] { Decoder, DraftScales, Refiner, RefinerCfg, Temperatures }) cmd.Options.Add(o);
    }

    /// <summary>The decoder asked for; throws <see cref="ArgumentException"/> naming the bad option.</summary>
    public IDecoder Create(ParseResult pr, ModelBundle model) => Create(new DecoderChoice
    {
        Kind = pr.GetValue(Decoder) ?? "var",
        DraftScales = pr.GetValue(DraftScales),
        Refiner = pr.GetValue(Refiner),
        RefinerCfg = pr.GetValue(RefinerCfg),
        Temperatures = pr.GetValue(Temperatures) is { } list ? ParseDoubles(list, "--temperatures") : null,
    }, model);

    /// <summary>
    /// The decoder of <paramref name="choice"/> for <paramref name="model"/> (the command line's or a batch job
    /// line's); throws <see cref="ArgumentException"/> naming the bad setting in the choice's own spelling.
    /// </summary>
    public static IDecoder Create(DecoderChoice choice, ModelBundle model)
    {
        string Name(string option) => choice.FieldNames ? option.TrimStart('-').Replace("-transformer", "").Replace('-', '_') : option;
        var kind = choice.Kind.Trim().ToLowerInvariant();
        switch (kind)
        {
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
            case "hmar" or "tts":
                throw new NotSupportedException($"decoder '{kind}' is not available yet (var or code)");
            default:
                throw new ArgumentException($"unknown {Name("--decoder")} '{kind}' (var or code)");
        }
    }

    private static double[] ParseDoubles(string text, string option)
    {
        try
        {
            return text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                .Select(t => double.Parse(t, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        }
        catch (FormatException)
        {
            throw new ArgumentException($"{option} '{text}' is not a comma-separated list of numbers");
        }
    }
}
