using Var.Model.Transformer;
using Var.Training.Runs;

namespace Var.Training.Generator;

/// <summary>Options of the teacher-forced next-scale VAR trainer (var.md §4, calibration.md §3).</summary>
public sealed record VarTrainOptions : RunOptions
{
    /// <summary>Creates options with the calibrated defaults (small model recipe).</summary>
    public VarTrainOptions()
    {
        Name = "var-small";
        Steps = 800;
        LearningRate = 1e-3;
        WarmupSteps = 100;
        DecayStart = 0.7;
        FinalLrFraction = 0.1;
        EvalEvery = 200;
    }

    /// <summary>Tokenizer weights (safetensors) whose summary.json or config gives the VQVAE architecture.</summary>
    public string TokenizerWeights { get; init; } = "runs/tokenizer/model.safetensors";

    /// <summary>
    /// Weights (safetensors of the same architecture) to start a fresh run from instead of the random init: a warm
    /// start with a new optimiser and schedule, e.g. after the tokenizer was trained further. Ignored when resuming.
    /// </summary>
    public string? InitWeights { get; init; }

    /// <summary>
    /// Refiner specialisation (CoDe §1, "specialized fine-tuning"): a model folder whose "var" transformer is the
    /// frozen teacher. The loss becomes <see cref="DistillAlpha"/>·KL(teacher ‖ student) of the teacher-forced logits
    /// + (1 − <see cref="DistillAlpha"/>)·cross-entropy against the ground-truth tokens, both on the scales from
    /// <see cref="DistillFromScale"/> on, instead of cross-entropy on all scales. Null = ordinary training.
    /// </summary>
    public string? TeacherModel { get; init; }

    /// <summary>First scale (N, the CoDe hand-over) whose logits the student learns from the teacher.</summary>
    public int DistillFromScale { get; init; }

    /// <summary>
    /// Weight α of the KL term in the specialisation loss, in [0, 1]; 1 (the default, what <c>refiner-n4</c> was
    /// trained with) is pure imitation of the teacher, 0 plain cross-entropy on the refiner's scales.
    /// </summary>
    public double DistillAlpha { get; init; } = 1.0;

    /// <summary>
    /// Decay of an exponential moving average of the weights (0 = none): with one, the run evaluates and exports the
    /// average (its checkpoint keeps both), the trained weights' test cross-entropy logged beside.
    /// </summary>
    public double EmaDecay { get; init; }

    /// <summary>Number of AdaLN blocks.</summary>
    public int Depth { get; init; } = 4;

    /// <summary>Width C.</summary>
    public int Width { get; init; } = 128;

    /// <summary>Attention heads.</summary>
    public int Heads { get; init; } = 2;

    /// <summary>AdamW weight decay (not on 1-D parameters, biases, pos_1LC, pos_start, lvl_embed, scale_mul).</summary>
    public double WeightDecay { get; init; } = 0.05;

    /// <summary>Gradient-norm clip.</summary>
    public double GradClip { get; init; } = 2.0;

    /// <summary>Probability of replacing a label by the unconditional class (var.md §2.6).</summary>
    public double ClassDropout { get; init; } = 0.1;

    /// <summary>Test images whose teacher-forced cross-entropy is reported at each evaluation.</summary>
    public int EvalImages { get; init; } = 1000;

    /// <summary>Folder of the shared token caches.</summary>
    public string TokenCacheDirectory { get; init; } = "runs/tokens";

    /// <summary>The transformer architecture for a tokenizer with the given vocabulary, channels and schedule.</summary>
    public VarConfig ConfigFor(int vocabSize, int vaeChannels, int[] patchNums) => new()
    {
        Depth = Depth,
        EmbedDim = Width,
        NumHeads = Heads,
        NumClasses = 10,
        VocabSize = vocabSize,
        VaeChannels = vaeChannels,
        PatchNums = patchNums,
        AttnL2Norm = true,
        CondDropRate = ClassDropout,
        // calibration.md §3: drop_path_rate = 0.1·depth/24.
        DropPathRate = 0.1 * Depth / 24,
    };
}
