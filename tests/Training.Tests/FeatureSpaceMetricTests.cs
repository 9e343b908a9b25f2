using Var.Model.Classifiers;
using Var.Training.Data;
using Var.Training.Evaluation;

namespace Var.Training.Tests;

public class FeatureSpaceMetricTests
{
    // Well-separated unit Gaussian clusters of `perCluster` points each in 3 dimensions (cluster c centred at 20·c·e₀).
    private static (Tensor X, int[] Labels) Clusters(int perCluster, int clusters = 8)
    {
        var parts = new List<Tensor>();
        var labels = new List<int>();
        for (int c = 0; c < clusters; c++)
        {
            var centre = tensor(new double[] { 20 * c, 0, 0 });
            parts.Add(randn(perCluster, 3, dtype: ScalarType.Float64) + centre);
            labels.AddRange(Enumerable.Repeat(c, perCluster));
        }
        return (cat(parts, 0), labels.ToArray());
    }

    [Fact]
    public void PrecisionAndRecallAreOneForIdenticalSets()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        var (x, _) = Clusters(40);
        var pr = PrecisionRecall.Compute(x, x);
        Assert.Equal((1.0, 1.0), (pr.Precision, pr.Recall));
    }

    [Fact]
    public void PrecisionAndRecallAreZeroForFarApartSets()
    {
        using var scope = NewDisposeScope();
        manual_seed(4);
        var real = randn(300, 3, dtype: ScalarType.Float64);
        var generated = randn(300, 3, dtype: ScalarType.Float64) + 50;
        var pr = PrecisionRecall.Compute(real, generated);
        Assert.Equal((0.0, 0.0), (pr.Precision, pr.Recall));
    }

    [Fact]
    public void AModeCollapsedSetHasHighPrecisionAndLowRecall()
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        var (real, _) = Clusters(50);
        // As many fresh draws as the real set, all from the first cluster: faithful samples of one mode.
        var (oneMode, _) = Clusters(400, clusters: 1);
        var collapsed = PrecisionRecall.Compute(real, oneMode);
        // Fresh draws of a mode fall outside its 50 real samples' 3-NN balls now and then (~15 % in 3-D).
        Assert.True(collapsed.Precision >= 0.75, $"precision {collapsed.Precision}");
        Assert.True(collapsed.Recall <= 0.2, $"recall {collapsed.Recall}");
        // A fresh draw of every mode covers the real set, so the low recall above is the collapse, not the metric.
        var (fresh, _) = Clusters(50);
        var full = PrecisionRecall.Compute(real, fresh);
        Assert.True(full.Precision >= 0.75 && full.Recall >= 0.75, $"precision {full.Precision}, recall {full.Recall}");
        // Copies of a subset (the first two clusters) are all inside the real manifold but cover a quarter of it.
        var subset = PrecisionRecall.Compute(real, real.narrow(0, 0, 100));
        Assert.Equal(1.0, subset.Precision);
        Assert.InRange(subset.Recall, 0.2, 0.3);
    }

    [Fact]
    public void PrecisionRecallRefusesSetsNoLargerThanK()
    {
        using var scope = NewDisposeScope();
        var error = Assert.Throws<ArgumentException>(() => PrecisionRecall.Compute(zeros(3, 4), zeros(10, 4)));
        Assert.Contains("more than 3", error.Message);
    }

    [Fact]
    public void PerClassFrechetSeesSwappedLabelsThatTheOverallDistanceCannot()
    {
        using var scope = NewDisposeScope();
        manual_seed(6);
        var (reference, referenceLabels) = Clusters(300, clusters: 3);
        var (generated, labels) = Clusters(100, clusters: 3);
        var perClass = FrechetDistance.PerClass(generated, labels, reference, referenceLabels, numClasses: 5);
        Assert.Equal(5, perClass.Length);
        Assert.True(double.IsNaN(perClass[3]) && double.IsNaN(perClass[4]), "classes without samples must be NaN");
        for (int c = 0; c < 3; c++)
        {
            var rows = tensor(Enumerable.Range(0, labels.Length).Where(i => labels[i] == c).Select(i => (long)i).ToArray());
            var refRows = tensor(Enumerable.Range(0, referenceLabels.Length).Where(i => referenceLabels[i] == c).Select(i => (long)i).ToArray());
            Assert.Equal(FrechetDistance.Compute(generated.index_select(0, rows), reference.index_select(0, refRows)), perClass[c], 9);
            Assert.True(perClass[c] < 1, $"class {c}: FD {perClass[c]} for a fresh draw of the same cluster");
        }
        // Generated images of classes 0 and 1 drawn for each other's label: the same set overall, far off per class.
        var swapped = labels.Select(l => l switch { 0 => 1, 1 => 0, _ => l }).ToArray();
        var perClassSwapped = FrechetDistance.PerClass(generated, swapped, reference, referenceLabels, numClasses: 3);
        // The two clusters' means are 20 apart: ‖μ₀ − μ₁‖² = 400.
        Assert.True(perClassSwapped[0] > 300 && perClassSwapped[1] > 300, $"swapped classes: {perClassSwapped[0]}, {perClassSwapped[1]}");
        Assert.Equal(perClass[2], perClassSwapped[2], 9);
    }

    [Fact]
    public void EvaluatorReportsEveryJudgesSpaceAndScoresTheTestSetItselfAtZeroDistance()
    {
        string data = TestData.WriteSynthetic(trainCount: 80, testCount: 40);
        try
        {
            using var scope = NewDisposeScope();
            manual_seed(7);
            var judges = new List<(string, ImageClassifier)>
            {
                ("judge", new ImageClassifier(ClassifierConfig.Judge with { Width = 4, FeatureDim = 8 })),
                ("judge2", new ImageClassifier(ClassifierConfig.Judge2 with { Width = 16, FeatureDim = 8 })),
            };
            using var evaluator = new Evaluator(judges, data);
            Assert.Equal(new[] { "judge", "judge2" }, evaluator.Judges);
            var test = FashionMnist.Load("test", data);
            var images = test.Batch(test.AllIndices());
            var labels = test.AllIndices().Select(test.Label).ToList();
            var reports = evaluator.Report(images, labels);
            Assert.Equal(new[] { "judge", "judge2" }, reports.Select(r => r.Role));
            foreach (var r in reports)
            {
                // The test set is its own label-matched test pick: a perfect generator in every space.
                Assert.Equal(0, r.Result.Fd, 3);
                Assert.Equal((1.0, 1.0), (r.Coverage.Precision, r.Coverage.Recall));
                Assert.Equal(FashionMnistClasses.Count, r.PerClassFd.Length);
                Assert.All(r.PerClassFd, fd => Assert.Equal(0, fd, 3));
                Assert.Equal(FashionMnistClasses.Count, r.PerClassFdFloor.Length);
                Assert.True(r.Result.FdFloor > 0, "the train pick is not the test set");
            }
            Assert.Equal(evaluator.Evaluate(images, labels).Fd, reports[0].Result.Fd, 9);
            Assert.NotEqual(reports[0].Result.FdFloor, reports[1].Result.FdFloor);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }
}
