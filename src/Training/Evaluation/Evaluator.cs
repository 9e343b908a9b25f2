using Var.Model.Checkpoints;
using Var.Model.Vqvae;
using Var.Model.Classifiers;
using Var.Training.Data;

namespace Var.Training.Evaluation;

/// <summary>
/// Scores generated Fashion-MNIST images with independent judge classifiers (never seen by a sampler): accuracy against
/// the requested labels and the Fréchet distance in each judge's features to the test set, next to the floor of as many
/// real train images; <see cref="Report"/> adds precision/recall and per-class distances with their floors, in every
/// judge's feature space. Also measures tokenizer reconstruction PSNR. Judge features of the test set are computed once.
/// </summary>
public sealed class Evaluator : IDisposable
{
    private readonly List<JudgeFeatureSpace> spaces = [];
    private readonly FashionMnist train;
    private readonly FashionMnist test;
    private readonly int[] testLabels;
    private readonly Dictionary<string, double> floors = [];
    private readonly Dictionary<string, RealPick> realPicks = [];

    /// <summary>Wraps a trained judge; loads both splits from <paramref name="dataDirectory"/>.</summary>
    public Evaluator(ImageClassifier judge, string? dataDirectory = null) : this([("judge", judge)], dataDirectory)
    {
    }

    /// <summary>
    /// Wraps trained judges by role (the first is the primary one of <see cref="Evaluate"/>; the evaluator owns and
    /// disposes them); loads both splits from <paramref name="dataDirectory"/>.
    /// </summary>
    public Evaluator(IReadOnlyList<(string Role, ImageClassifier Judge)> judges, string? dataDirectory = null)
    {
        if (judges.Count == 0) throw new ArgumentException("an evaluator needs at least one judge", nameof(judges));
        train = FashionMnist.Load("train", dataDirectory);
        test = FashionMnist.Load("test", dataDirectory);
        testLabels = test.AllIndices().Select(test.Label).ToArray();
        foreach (var (role, judge) in judges) spaces.Add(new JudgeFeatureSpace(role, judge, test));
    }

    /// <summary>An evaluator over the judge of a model folder (model.json component "judge").</summary>
    public static Evaluator FromModelFolder(string folder, string? dataDirectory = null) =>
        new(ModelLoader.LoadClassifier(folder, "judge"), dataDirectory);

    /// <summary>An evaluator over every judge of a model folder ("judge" first, then the other judge roles by name).</summary>
    public static Evaluator FromModelFolderJudges(string folder, string? dataDirectory = null) =>
        new(ModelLoader.JudgeRoles(folder).Select(role => (role, ModelLoader.LoadClassifier(folder, role))).ToList(), dataDirectory);

    /// <summary>The judges' roles, the primary one first.</summary>
    public IReadOnlyList<string> Judges => spaces.Select(s => s.Role).ToList();

    /// <summary>
    /// Scores images (B, 3, 32, 32) float32 in [−1, 1] generated for <paramref name="labels"/> (B class ids) with the
    /// primary judge.
    /// </summary>
    public EvaluationResult Evaluate(Tensor imagesBchw, IReadOnlyList<int> labels)
    {
        var (result, featuresND) = Judged(spaces[0], imagesBchw, labels);
        featuresND.Dispose();
        return result;
    }

    /// <summary>
    /// Every judge's report on images (B, 3, 32, 32) float32 in [−1, 1] generated for <paramref name="labels"/>
    /// (B class ids): <see cref="Evaluate"/>'s figures, precision/recall with <paramref name="k"/> neighbours against
    /// as many label-matched test images (at most the 1000 per class the test set has), and per-class Fréchet distances
    /// to the test images of each class, each with the floor of as many label-matched real train images.
    /// </summary>
    public IReadOnlyList<JudgeReport> Report(Tensor imagesBchw, IReadOnlyList<int> labels, int k = PrecisionRecall.DefaultK)
    {
        var pick = Pick(labels, seed: 0);
        var reports = new List<JudgeReport>();
        foreach (var space in spaces)
        {
            var (result, generatedND) = Judged(space, imagesBchw, labels);
            using (generatedND)
            {
                var trainND = space.PickFeatures("train", pick.Key, train, pick.Train);
                var testND = space.PickFeatures("test", pick.Key, test, pick.Test);
                reports.Add(new JudgeReport(space.Role, result,
                    PrecisionRecall.Compute(testND, generatedND, k),
                    PrecisionRecall.Compute(testND, trainND, k),
                    FrechetDistance.PerClass(generatedND, labels, space.TestFeaturesND, testLabels, FashionMnistClasses.Count),
                    FrechetDistance.PerClass(trainND, pick.Train.Select(train.Label).ToArray(), space.TestFeaturesND, testLabels, FashionMnistClasses.Count)));
            }
        }
        return reports;
    }

    /// <summary>
    /// FD between real train images with the same label multiset as <paramref name="labels"/> (seeded pick) and the
    /// test set, in the primary judge's features: what a perfect generator would score at this sample size.
    /// </summary>
    public double Floor(IReadOnlyList<int> labels, int seed = 0) => Floor(spaces[0], labels, seed);

    /// <summary>Tokenizer reconstruction PSNR on the first <paramref name="count"/> test images.</summary>
    public ReconstructionQuality TokenizerQuality(MultiScaleVqvae vae, int count = 2000) =>
        ReconstructionQuality.Measure(vae, test, Enumerable.Range(0, Math.Min(count, test.Count)).ToArray());

    private (EvaluationResult Result, Tensor FeaturesND) Judged(JudgeFeatureSpace space, Tensor imagesBchw, IReadOnlyList<int> labels)
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
                var (logits, features) = space.Judge.ForwardWithFeatures(x);
                var predicted = logits.argmax(1).data<long>().ToArray();
                for (int i = 0; i < n; i++)
                {
                    int want = labels[at + i];
                    total[want]++;
                    if (predicted[i] == want) correct[want]++;
                }
                featureParts.Add(features.DetachFromDisposeScope());
            }
            var all = cat(featureParts, 0);
            double fd = FrechetDistance.Compute(all, space.TestFeaturesND);
            double accuracy = correct.Sum() / (double)labels.Count;
            var perClass = correct.Select((c, k) => total[k] == 0 ? double.NaN : c / (double)total[k]).ToArray();
            return (new EvaluationResult(labels.Count, accuracy, perClass, fd, Floor(space, labels, 0)), all);
        }
        finally
        {
            foreach (var t in featureParts) t.Dispose();
        }
    }

    private double Floor(JudgeFeatureSpace space, IReadOnlyList<int> labels, int seed)
    {
        var pick = Pick(labels, seed);
        string key = space.Role + "/" + pick.Key;
        if (floors.TryGetValue(key, out double cached)) return cached;
        return floors[key] = FrechetDistance.Compute(space.PickFeatures("train", pick.Key, train, pick.Train), space.TestFeaturesND);
    }

    // Seeded label-matched picks of both splits: the train pick is the floor's "perfect generator", the test pick the
    // equal-sized real set that precision/recall need (their k-NN radii depend on the sample size).
    private RealPick Pick(IReadOnlyList<int> labels, int seed)
    {
        var counts = new int[FashionMnistClasses.Count];
        foreach (int l in labels) counts[l]++;
        string key = string.Join(",", counts) + "/" + seed;
        if (realPicks.TryGetValue(key, out var cached)) return cached;
        return realPicks[key] = new RealPick(key, LabelMatched(train, counts, seed), LabelMatched(test, counts, seed));
    }

    private static int[] LabelMatched(FashionMnist data, int[] counts, int seed)
    {
        var order = data.AllIndices();
        new Random(seed).Shuffle(order);
        var left = (int[])counts.Clone();
        return order.Where(i => left[data.Label(i)]-- > 0).ToArray();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var space in spaces) space.Dispose();
    }

    private sealed record RealPick(string Key, int[] Train, int[] Test);
}
