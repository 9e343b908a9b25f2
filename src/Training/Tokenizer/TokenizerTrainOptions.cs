using Var.Model.Vqvae;
using Var.Training.Runs;

namespace Var.Training.Tokenizer;

/// <summary>Options of the multi-scale VQVAE trainer (calibration.md §1).</summary>
public sealed record TokenizerTrainOptions : RunOptions
{
    /// <summary>The small Fashion-MNIST tokenizer: 32×32 → 8×8×16 latent, V = 512, scales 1,2,3,4,6,8 (L = 130).</summary>
    public static VqvaeConfig SmallConfig => new()
    {
        VocabSize = 512,
        ZChannels = 16,
        Ch = 32,
        ChMult = [1, 2, 2],
        NumResBlocks = 1,
        UsingSa = false,
        UsingMidSa = false,
        ShareQuantResi = 4,
        QuantResi = 0.5,
        PatchNums = [1, 2, 3, 4, 6, 8],
    };

    /// <summary>Creates options with the calibrated defaults.</summary>
    public TokenizerTrainOptions()
    {
        Name = "tokenizer";
        Steps = 3000;
        LearningRate = 1e-3;
        WarmupSteps = 200;
        DecayStart = 0.6;
        FinalLrFraction = 0.05;
        EvalEvery = 500;
    }

    /// <summary>Architecture.</summary>
    public VqvaeConfig Config { get; init; } = SmallConfig;

    /// <summary>Weight of the L1 term next to the MSE term.</summary>
    public double L1Weight { get; init; } = 0.2;

    /// <summary>Commitment weight β of the VQ loss.</summary>
    public double Beta { get; init; } = 0.25;

    /// <summary>Steps between dead-code restarts (0 = never).</summary>
    public int RestartEvery { get; init; } = 100;

    /// <summary>Fraction of the run after which restarts stop (calibration: off for the last 20 %).</summary>
    public double RestartUntil { get; init; } = 0.8;

    /// <summary>Train images whose encoder residuals seed restarted codes.</summary>
    public int RestartImages { get; init; } = 256;

    /// <summary>Test images of the PSNR evaluation.</summary>
    public int EvalImages { get; init; } = 2000;
}
