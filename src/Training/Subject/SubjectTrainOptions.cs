using Var.Training.Runs;

namespace Var.Training.Subject;

/// <summary>
/// Options of subject-driven fine-tuning (Chung et al. 2025, "Fine-Tuning Visual Autoregressive Models for
/// Subject-Driven Generation"): scale-wise weighted cross-entropy on the subject's token maps, selected layers, and
/// prior distillation on token maps the frozen base model generated. <see cref="RunOptions.BatchSize"/> is the number
/// of subject rows per step; <see cref="PriorBatch"/> prior rows are added.
/// </summary>
public sealed record SubjectTrainOptions : RunOptions
{
    /// <summary>Creates options with the defaults measured on weights/fmnist (README, "Teaching a new class").</summary>
    public SubjectTrainOptions()
    {
        Name = "subject";
        Steps = 400;
        BatchSize = 8;
        LearningRate = 1e-3;
        WarmupSteps = 15;
        DecayStart = 0.5;
        FinalLrFraction = 0.1;
        LogEvery = 10;
        CheckpointMinutes = 2;
    }

    /// <summary>The base model folder (provenance).</summary>
    public string BaseModel { get; init; } = "";

    /// <summary>Display name of the new class (must not name an existing class).</summary>
    public string ClassName { get; init; } = "";

    /// <summary>Parameter groups tuned (<see cref="SubjectLayers"/>); the new class row always is.</summary>
    public string[] Layers { get; init; } = ["all"];

    /// <summary>
    /// Scale weights wₖ = γᵏ of the subject loss (coarse scales count more; the per-scale means are weighted, so scale 0's
    /// single token weighs as much as a whole scale). 0 turns the weighting off: the plain mean over all tokens, in which
    /// scale k counts in proportion to its pn² tokens.
    /// </summary>
    public double ScaleDecay { get; init; } = 0;

    /// <summary>Weight λ of the prior-distillation cross-entropy (0 = no prior rows).</summary>
    public double PriorWeight { get; init; } = 0.2;

    /// <summary>Prior rows per step.</summary>
    public int PriorBatch { get; init; } = 8;

    /// <summary>Probability that a prior row's label is replaced by the unconditional class (keeps CFG's branch in place).</summary>
    public double ClassDropout { get; init; } = 0.1;

    /// <summary>Largest random shift in pixels of the shots before tokenizing (each shot in every shift of −s..s, black fill).</summary>
    public int MaxShift { get; init; } = 2;

    /// <summary>Random affine copies of each shot added to its shifts (0 = the shifts only).</summary>
    public int Augment { get; init; } = 128;

    /// <summary>Largest rotation of an affine copy, in degrees.</summary>
    public double MaxRotation { get; init; } = 10;

    /// <summary>Largest relative zoom of an affine copy (0.1 = 0.9…1.1).</summary>
    public double ScaleJitter { get; init; } = 0.1;

    /// <summary>
    /// Probability that a teacher-forced input token of a subject row is replaced by a random code (the target stays the
    /// shot's token); 0 = off.
    /// </summary>
    public double InputNoise { get; init; }

    /// <summary>
    /// Folder of the untouched base transformer with the new class's row added (model.safetensors + summary.json): the
    /// taught model's default transformer, which draws every old class exactly as the base model does.
    /// </summary>
    public string BaseCopyDirectory => Path.Combine(RunDirectory, "base");

    /// <summary>The subject loss weights for <paramref name="scales"/> scales, or null for the plain token mean.</summary>
    public double[]? ScaleWeights(int scales) =>
        ScaleDecay <= 0 ? null : Enumerable.Range(0, scales).Select(k => Math.Pow(ScaleDecay, k)).ToArray();
}
