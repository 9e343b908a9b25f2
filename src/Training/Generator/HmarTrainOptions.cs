using Var.Model.Transformer;
using Var.Training.Runs;

namespace Var.Training.Generator;

/// <summary>
/// Options of the two-phase HMAR trainer (hmar.md §2): <see cref="RunOptions.Steps"/> next-scale steps with the
/// block-diagonal attention and log-normal scale weights, then <see cref="MaskSteps"/> masked-prediction steps of the
/// masked tail and head with the trunk frozen. The learning-rate settings of <see cref="RunOptions"/> apply to both
/// phases (each phase has its own schedule), except the masked phase's warm-up and optional peak.
/// </summary>
public sealed record HmarTrainOptions : RunOptions
{
    /// <summary>Creates options with the defaults of the small Fashion-MNIST model (the shipped <c>var</c>'s size).</summary>
    public HmarTrainOptions()
    {
        Name = "hmar";
        Steps = 1200;
        BatchSize = 32;
        LearningRate = 6e-4;
        WarmupSteps = 100;
        DecayStart = 0.7;
        FinalLrFraction = 0.1;
        EvalEvery = 400;
    }

    /// <summary>Tokenizer weights (safetensors) whose summary.json or config gives the VQVAE architecture.</summary>
    public string TokenizerWeights { get; init; } = "runs/tokenizer/model.safetensors";

    /// <summary>
    /// Weights to start a fresh run from instead of the random init: an HMAR file of the same architecture, or a VAR
    /// file of the same depth and width, whose blocks become the trunk and both tails, its head both heads and its
    /// word_embed bias <c>word_embed_bias</c> (a warm start; hmar.md §1 notes the reference trains from scratch).
    /// Ignored when resuming.
    /// </summary>
    public string? InitWeights { get; init; }

    /// <summary>
    /// Decay of an exponential moving average of the trained weights in each phase (0 = none): with one, each phase
    /// evaluates and exports the average, the masked phase starts from the averaged next-scale weights, and the
    /// checkpoint keeps both.
    /// </summary>
    public double EmaDecay { get; init; }

    /// <summary>Masked-prediction fine-tune steps after the next-scale phase (0 = next-scale training only).</summary>
    public long MaskSteps { get; init; } = 300;

    /// <summary>Peak learning rate of the masked phase (null = <see cref="RunOptions.LearningRate"/>).</summary>
    public double? MaskLearningRate { get; init; }

    /// <summary>Warm-up steps of the masked phase.</summary>
    public long MaskWarmupSteps { get; init; } = 30;

    /// <summary>Blocks of the backbone (trunk + one tail).</summary>
    public int Depth { get; init; } = 4;

    /// <summary>Blocks of each tail (the reference's n_layers_train, half the depth at d16; hmar.md §1).</summary>
    public int TailDepth { get; init; } = 1;

    /// <summary>Width C.</summary>
    public int Width { get; init; } = 256;

    /// <summary>Attention heads.</summary>
    public int Heads { get; init; } = 4;

    /// <summary>AdamW weight decay (not on 1-D parameters, biases, pos_1LC, pos_start, lvl_embed, scale_mul).</summary>
    public double WeightDecay { get; init; } = 0.05;

    /// <summary>Gradient-norm clip.</summary>
    public double GradClip { get; init; } = 2.0;

    /// <summary>Probability of replacing a label by the unconditional class, in both phases (hmar.md §2).</summary>
    public double ClassDropout { get; init; } = 0.1;

    /// <summary>Test images whose teacher-forced cross-entropies are reported at each evaluation.</summary>
    public int EvalImages { get; init; } = 1000;

    /// <summary>Mask ratio of the masked-prediction test cross-entropy.</summary>
    public double EvalMaskRatio { get; init; } = 0.5;

    /// <summary>Folder of the shared token caches.</summary>
    public string TokenCacheDirectory { get; init; } = "runs/tokens";

    /// <summary>The options of the masked phase's step loop: its steps, warm-up and peak learning rate.</summary>
    public HmarTrainOptions MaskPhase(double minutesLeft) => this with
    {
        Name = Name + "/masked",
        Steps = MaskSteps,
        WarmupSteps = Math.Min(MaskWarmupSteps, MaskSteps),
        LearningRate = MaskLearningRate ?? LearningRate,
        Minutes = minutesLeft,
    };

    /// <summary>The architecture for a tokenizer with the given vocabulary, channels and schedule.</summary>
    public HmarConfig ConfigFor(int vocabSize, int vaeChannels, int[] patchNums) => new()
    {
        Backbone = new VarTrainOptions { Depth = Depth, Width = Width, Heads = Heads, ClassDropout = ClassDropout }.ConfigFor(vocabSize, vaeChannels, patchNums),
        TailDepth = TailDepth,
    };
}
