using Var.Model.Classifiers;
using Var.Training.Runs;

namespace Var.Training.Classifiers;

/// <summary>Options of the classifier trainer.</summary>
public sealed record ClassifierTrainOptions : RunOptions
{
    /// <summary>Creates options with defaults for about two epochs at batch 128.</summary>
    public ClassifierTrainOptions()
    {
        Name = "reward";
        Steps = 940;
        BatchSize = 128;
        LearningRate = 2e-3;
        WarmupSteps = 50;
        DecayStart = 0.3;
        FinalLrFraction = 0.02;
        EvalEvery = 0;
        LogEvery = 50;
    }

    /// <summary>Architecture.</summary>
    public ClassifierConfig Config { get; init; } = ClassifierConfig.Reward;

    /// <summary>AdamW weight decay on weight matrices and kernels.</summary>
    public double WeightDecay { get; init; } = 0.01;

    /// <summary>Maximum random shift (pixels) of the training augmentation (0 = none).</summary>
    public int MaxShift { get; init; } = 2;

    /// <summary>Random horizontal flips in training.</summary>
    public bool HorizontalFlip { get; init; }
}
