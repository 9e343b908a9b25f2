namespace Var.Model.Classifiers;

/// <summary>
/// A small CNN classifier exposing class logits and its penultimate feature vector (for rewards and Fréchet
/// distances). State-dict keys: <c>trunk.*</c>, <c>feature.*</c>, <c>head.*</c>.
/// </summary>
public sealed class ImageClassifier : nn.Module<Tensor, Tensor>
{
    private readonly Sequential trunk;
    private readonly Linear feature;
    private readonly Linear head;
    private readonly bool gelu;
    private readonly bool spatial = true;

    /// <summary>Side of the square input images.</summary>
    public const int InputSide = 32;

    /// <summary>Builds the architecture named in <paramref name="config"/>.</summary>
    public ImageClassifier(ClassifierConfig config) : base("ImageClassifier")
    {
        Config = config;
        int w = config.Width;
        switch (config.Architecture)
        {
            case "reward-cnn":
                gelu = true;
                trunk = nn.Sequential(
                    ("0", nn.Conv2d(3, w, 3, padding: 1)), ("1", nn.GELU()),
                    ("2", nn.Conv2d(w, w, 3, padding: 1)), ("3", nn.GELU()), ("4", nn.MaxPool2d(2)),
                    ("5", nn.Conv2d(w, 2 * w, 3, padding: 1)), ("6", nn.GELU()),
                    ("7", nn.Conv2d(2 * w, 2 * w, 3, padding: 1)), ("8", nn.GELU()), ("9", nn.MaxPool2d(2)),
                    ("10", nn.Conv2d(2 * w, 4 * w, 3, padding: 1)), ("11", nn.GELU()), ("12", nn.MaxPool2d(2)),
                    ("13", nn.Flatten()));
                feature = nn.Linear(4 * w * 4 * 4, config.FeatureDim);
                break;
            case "judge-cnn":
                gelu = false;
                trunk = nn.Sequential(
                    ("0", nn.Conv2d(3, w, 5, padding: 2)), ("1", nn.ReLU()), ("2", nn.AvgPool2d(2)),
                    ("3", nn.Conv2d(w, 2 * w, 5, padding: 2)), ("4", nn.ReLU()), ("5", nn.AvgPool2d(2)),
                    ("6", nn.Conv2d(2 * w, 4 * w, 3, padding: 1)), ("7", nn.ReLU()), ("8", nn.AvgPool2d(2)),
                    ("9", nn.Flatten()));
                feature = nn.Linear(4 * w * 4 * 4, config.FeatureDim);
                break;
            case "judge-mlp":
                gelu = false;
                spatial = false;
                // A 1×1 convolution mixes the (grey, identical) channels into one plane; every pixel then has its own
                // weights, so these features share nothing with a convolutional judge's.
                trunk = nn.Sequential(
                    ("0", nn.Conv2d(3, 1, 1)), ("1", nn.Flatten()),
                    ("2", nn.Linear(InputSide * InputSide, w)), ("3", nn.ReLU()));
                feature = nn.Linear(w, config.FeatureDim);
                break;
            default:
                throw new ArgumentException($"unknown classifier architecture '{config.Architecture}' (reward-cnn, judge-cnn or judge-mlp)");
        }
        head = nn.Linear(config.FeatureDim, config.NumClasses);
        RegisterComponents();
    }

    /// <summary>The architecture.</summary>
    public ClassifierConfig Config { get; }

    /// <summary>Penultimate features (B, FeatureDim) of images (B, 3, 32, 32) in [−1, 1].</summary>
    public Tensor Features(Tensor imagesBchw)
    {
        using var scope = NewDisposeScope();
        var h = feature.forward(trunk.forward(imagesBchw));
        return (gelu ? nn.functional.gelu(h) : nn.functional.relu(h)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The last spatial feature map (B, C, h, w) of images (B, 3, 32, 32) in [−1, 1]: the trunk's output before its
    /// final pooling (e.g. 4w × 8 × 8), for structure features such as a search's clustering.
    /// </summary>
    /// <exception cref="InvalidOperationException">The architecture has no spatial map ("judge-mlp").</exception>
    public Tensor SpatialFeatures(Tensor imagesBchw)
    {
        if (!spatial) throw new InvalidOperationException($"a {Config.Architecture} classifier has no spatial feature map");
        using var scope = NewDisposeScope();
        var layers = trunk.children().ToList();
        var h = imagesBchw;
        // The last two layers are the final pooling and the flatten.
        foreach (var layer in layers.Take(layers.Count - 2)) h = ((nn.Module<Tensor, Tensor>)layer).forward(h);
        return h.MoveToOuterDisposeScope();
    }

    /// <summary>Class logits (B, NumClasses) of images (B, 3, 32, 32) in [−1, 1].</summary>
    public override Tensor forward(Tensor imagesBchw)
    {
        using var f = Features(imagesBchw);
        return head.forward(f);
    }

    /// <summary>Logits (B, NumClasses) and features (B, FeatureDim) in one pass.</summary>
    public (Tensor Logits, Tensor Features) ForwardWithFeatures(Tensor imagesBchw)
    {
        var f = Features(imagesBchw);
        return (head.forward(f), f);
    }
}
