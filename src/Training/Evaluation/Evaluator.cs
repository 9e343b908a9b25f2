using Var.Model.Checkpoints;
using Var.Model.Vqvae;
using Var.Model.Classifiers;
using Var.Training.Data;

namespace Var.Training.Evaluation;

/// <summary>
/// Scores generated Fashion-MNIST images with the independent judge classifier: accuracy against the requested labels
/// and the Fréchet distance in judge features to the test set, next to the floor of as many real train images.
/// Also measures tokenizer reconstruction PSNR. Judge features of the test set are computed once.
/// </summary>
public sealed class Evaluator : IDisposable
{
    private readonly ImageClassifier judge;
    private readonly FashionMnist train;
    private readonly FashionMnist test;
    private readonly Tensor testFeaturesND;
    private readonly Dictionary<string, double> floors = [];

    /// <summary>Wraps a trained judge; loads both splits from <paramref name="dataDirectory"/>.</summary>
    public Evaluator(ImageClassifier judge, string? dataDirectory = null)
    {
        this.judge = judge;
        judge.eval();
        train = FashionMnist.Load("train", dataDirectory);
        test = FashionMnist.Load("test", dataDirectory);
        testFeaturesND = FeaturesOf(test, test.AllIndices()).DetachFromDisposeScope();
    }

    /// <summary>An evaluator over the judge of a model folder (model.json component "judge").</summary>
    public static Evaluator FromModelFolder(string folder, string? dataDirectory = null) =>
        new(ModelLoader.LoadClassifier(folder, "judge"), dataDirectory);

    /// <summary>
    /// Scores images (B, 3, 32, 32) float32 in [−1, 1] generated for <paramref name="labels"/> (B class ids).
    /// </summary>
    public EvaluationResult Evaluate(Tensor imagesBchw, IReadOnlyList<int> labels)
    {
        if (imagesBchw.shape[0] != labels.Count) throw new ArgumentException($"{imagesBchw.shape[0]} images but {labels.Count} labels");
        var correct = new int[FashionMnistClasses.Count];
        var total = new int[FashionMnistClasses.Count];
        var featureParts = new List<Tensor>();
        try
        {
            for (int at = 0; at < labels.Count; at += 500)
            {
                using var scope = NewDisposeScope();
                using var noGrad = no_grad();
                long n = Math.Min(500, labels.Count - at);
                var x = imagesBchw.narrow(0, at, n).to(ScalarType.Float32);
                var (logits, features) = judge.ForwardWithFeatures(x);
                var predicted = logits.argmax(1).data<long>().ToArray();
                for (int i = 0; i < n; i++)
                {
                    int want = labels[at + i];
                    total[want]++;
                    if (predicted[i] == want) correct[want]++;
                }
                featureParts.Add(features.DetachFromDisposeScope());
            }
            using var all = cat(featureParts, 0);
            double fd = FrechetDistance.Compute(all, testFeaturesND);
            double accuracy = correct.Sum() / (double)labels.Count;
            var perClass = correct.Select((c, k) => total[k] == 0 ? double.NaN : c / (double)total[k]).ToArray();
            return new EvaluationResult(labels.Count, accuracy, perClass, fd, Floor(labels));
        }
        finally
        {
            foreach (var t in featureParts) t.Dispose();
        }
    }

    /// <summary>
    /// FD between real train images with the same label multiset as <paramref name="labels"/> (seeded pick) and the
    /// test set: what a perfect generator would score at this sample size.
    /// </summary>
    public double Floor(IReadOnlyList<int> labels, int seed = 0)
    {
        var counts = new int[FashionMnistClasses.Count];
        foreach (int l in labels) counts[l]++;
        string key = string.Join(",", counts) + "/" + seed;
        if (floors.TryGetValue(key, out double cached)) return cached;
        var order = train.AllIndices();
        new Random(seed).Shuffle(order);
        var left = (int[])counts.Clone();
        var pick = order.Where(i => left[train.Label(i)]-- > 0).ToArray();
        using var features = FeaturesOf(train, pick);
        return floors[key] = FrechetDistance.Compute(features, testFeaturesND);
    }

    /// <summary>Tokenizer reconstruction PSNR on the first <paramref name="count"/> test images.</summary>
    public ReconstructionQuality TokenizerQuality(MultiScaleVqvae vae, int count = 2000) =>
        ReconstructionQuality.Measure(vae, test, Enumerable.Range(0, Math.Min(count, test.Count)).ToArray());

    private Tensor FeaturesOf(FashionMnist data, int[] indices)
    {
        var parts = new List<Tensor>();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        for (int at = 0; at < indices.Length; at += 500)
            parts.Add(judge.Features(data.Batch(indices.AsSpan(at, Math.Min(500, indices.Length - at)))));
        return cat(parts, 0).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        testFeaturesND.Dispose();
        judge.Dispose();
    }
}
