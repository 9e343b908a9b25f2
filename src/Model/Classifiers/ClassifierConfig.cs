namespace Var.Model.Classifiers;

/// <summary>Architecture of a Fashion-MNIST image classifier (input (B, 3, 32, 32) in [−1, 1]).</summary>
public sealed record ClassifierConfig
{
    /// <summary>
    /// "reward-cnn" (3×3 convs, max-pool, GELU), "judge-cnn" (5×5 convs, average-pool, ReLU) or "judge-mlp" (no
    /// convolution: a learned grey mix of the channels, then fully connected layers on the 32×32 pixels, ReLU).
    /// </summary>
    public string Architecture { get; init; } = "reward-cnn";

    /// <summary>Channels of the first stage (later stages double it); for "judge-mlp" the hidden layer's units.</summary>
    public int Width { get; init; } = 32;

    /// <summary>Size of the penultimate feature vector.</summary>
    public int FeatureDim { get; init; } = 128;

    /// <summary>Number of classes.</summary>
    public int NumClasses { get; init; } = 10;

    /// <summary>The reward / feature model used by TTS-VAR.</summary>
    public static ClassifierConfig Reward => new() { Architecture = "reward-cnn", Width = 16, FeatureDim = 128 };

    /// <summary>The independent judge used only for evaluation.</summary>
    public static ClassifierConfig Judge => new() { Architecture = "judge-cnn", Width = 24, FeatureDim = 64 };

    /// <summary>
    /// The second judge, of another kind (an MLP: no weight sharing, no translation invariance), so that a quality
    /// claim does not rest on one network's features; evaluation only.
    /// </summary>
    public static ClassifierConfig Judge2 => new() { Architecture = "judge-mlp", Width = 192, FeatureDim = 64 };
}
