using System.CommandLine;
using Var.Training.Subject;

namespace Var.Cli.Subject;

/// <summary>
/// The fine-tuning flags shared by <c>var train subject</c> and <c>var bench subject</c> (where they set every run, and
/// each ablation then changes one of them): layers, loss weighting, prior distillation and the shots' copies.
/// </summary>
internal sealed class SubjectFlags
{
    private static readonly SubjectTrainOptions Defaults = new();

    private readonly Option<string> layers = new("--layers") { Description = $"Tuned parameter groups, comma-separated: {string.Join(", ", SubjectLayers.Groups)} (the new class row always)", DefaultValueFactory = _ => string.Join(",", Defaults.Layers) };
    private readonly Option<double> scaleDecay = new("--scale-decay") { Description = "Scale weights w_k = decay^k of the subject loss (coarse scales first); 0 = plain token mean", DefaultValueFactory = _ => Defaults.ScaleDecay };
    private readonly Option<double> priorWeight = new("--prior-weight") { Description = "Weight of prior distillation (cross-entropy on the base model's own samples); 0 = off", DefaultValueFactory = _ => Defaults.PriorWeight };
    private readonly Option<int> priorPerClass = new("--prior-per-class") { Description = "Base-model samples per old class for prior distillation", DefaultValueFactory = _ => 20 };
    private readonly Option<int> maxShift = new("--max-shift") { Description = "Shift augmentation: every shot is also used shifted by up to this many pixels (black fill)", DefaultValueFactory = _ => Defaults.MaxShift };
    private readonly Option<int> augment = new("--augment") { Description = "Random affine copies of each shot (rotation, zoom, shift; seeded) added to the shifted shots", DefaultValueFactory = _ => Defaults.Augment };
    private readonly Option<double> maxRotation = new("--max-rotation") { Description = "Largest rotation of an affine copy in degrees", DefaultValueFactory = _ => Defaults.MaxRotation };
    private readonly Option<double> scaleJitter = new("--scale-jitter") { Description = "Largest relative zoom of an affine copy (0.1 = 0.9-1.1)", DefaultValueFactory = _ => Defaults.ScaleJitter };
    private readonly Option<double> inputNoise = new("--input-noise") { Description = "Probability that a teacher-forced input token of a shot is replaced by a random code (targets kept); 0 = off", DefaultValueFactory = _ => Defaults.InputNoise };

    /// <summary>Adds the flags to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        foreach (Option o in new Option[] { layers, scaleDecay, priorWeight, priorPerClass, maxShift, augment, maxRotation, scaleJitter, inputNoise }) command.Options.Add(o);
    }

    /// <summary><paramref name="options"/> with the flags' values.</summary>
    public SubjectTrainOptions Apply(SubjectTrainOptions options, ParseResult r) => options with
    {
        Layers = SubjectLayers.Parse(r.GetValue(layers)!.Split(',')),
        ScaleDecay = r.GetValue(scaleDecay),
        PriorWeight = r.GetValue(priorWeight),
        MaxShift = r.GetValue(maxShift),
        Augment = r.GetValue(augment),
        MaxRotation = r.GetValue(maxRotation),
        ScaleJitter = r.GetValue(scaleJitter),
        InputNoise = r.GetValue(inputNoise),
    };

    /// <summary>The scale decay asked for.</summary>
    public double ScaleDecay(ParseResult r) => r.GetValue(scaleDecay);

    /// <summary>Base-model samples per old class for prior distillation.</summary>
    public int PriorPerClass(ParseResult r) => r.GetValue(priorPerClass);
}
