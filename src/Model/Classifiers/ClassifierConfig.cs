namespace Var.Model.Classifiers;

/// <summary>Architecture of a Fashion-MNIST image classifier (input (B, 3, 32, 32) in [−1, 1]).</summary>
public sealed record ClassifierConfig
{
    /// <summary>"reward-cnn" (3×3 convs, max-pool, GELU) or "judge-cnn" (5×5 convs, average-pool, ReLU).</summary>
    public string Architecture { get; init; } = "reward-cnn";

    /// <summary>Channels of the first stage (later stages double it).</summary>
    public int Width { get; init; } = 32;

    /// <summary>Size of the penultimate feature vector.</summary>
    public int FeatureDim { get; init; } = 128;

    /// <summary>Number of classes.</summary>
    public int NumClasses { get; init; } = 10;

    /// <summary>The reward / feature model used by TTS-VAR.</summary>
    public static ClassifierConfig Reward => new() { Architecture = "reward-cnn", Width = 16, FeatureDim = 128 };

    /// <summary>The independent judge used only for evaluation.</summary>
    public static ClassifierConfig Judge => new() { Architecture = "judge-cnn", Width = 24, FeatureDim = 64 };
}
