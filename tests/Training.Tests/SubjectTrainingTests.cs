using Var.Model.Transformer;
using Var.Training.Generator;
using Var.Training.Subject;

namespace Var.Training.Tests;

/// <summary>The pieces of subject fine-tuning: adding a class, the scale-wise weighted loss, the layer selection.</summary>
public class SubjectTrainingTests
{
    private static VarConfig Tiny => new() { Depth = 2, EmbedDim = 32, NumHeads = 2, NumClasses = 4, VocabSize = 16, VaeChannels = 4, PatchNums = [1, 2, 3] };

    private static VarTransformer TinyModel()
    {
        manual_seed(3);
        var model = new VarTransformer(Tiny);
        model.InitWeights(0.05, 0.5, 1.0, 1.0);
        model.eval();
        return model;
    }

    [Fact]
    public void AddedClassLeavesTheOldClassesAndTheUnconditionalClassLogitsIdentical()
    {
        using var scope = NewDisposeScope();
        using var source = TinyModel();
        using var target = ClassInsertion.AddClass(source);
        target.eval();
        Assert.Equal(5, target.Config.NumClasses);
        manual_seed(4);
        var x = randn(5, Tiny.TotalTokens - 1, Tiny.VaeChannels);
        using var noGrad = no_grad();
        var before = source.forward(tensor(new long[] { 0, 1, 2, 3, 4 }), x);
        var after = target.forward(tensor(new long[] { 0, 1, 2, 3, 5 }), x);
        Assert.True(before.eq(after).all().item<bool>(), "old classes (ids 0..3) and the unconditional class (4 → 5) give the same logits");
        var fresh = target.forward(tensor(new long[] { 4 }), x.narrow(0, 4, 1));
        Assert.True(fresh.allclose(before.narrow(0, 4, 1), rtol: 1e-4, atol: 1e-4), "the new class starts as the unconditional embedding");
    }

    [Fact]
    public void ScaleWeightedLossIsTheWeightedMeanOfPerScaleMeans()
    {
        using var scope = NewDisposeScope();
        var ranges = new List<(int, int)> { (0, 1), (1, 5), (5, 14) };
        manual_seed(5);
        var ce = rand(3, 14);
        double m0 = ce.narrow(1, 0, 1).mean().item<float>(), m1 = ce.narrow(1, 1, 4).mean().item<float>(), m2 = ce.narrow(1, 5, 9).mean().item<float>();
        Assert.Equal((m0 + m1 + m2) / 3, VarTrainer.ScaleWeighted(ce, ranges, [1, 1, 1]).item<float>(), 5);
        Assert.Equal((1 * m0 + 0.5 * m1 + 0.25 * m2) / 1.75, VarTrainer.ScaleWeighted(ce, ranges, [1, 0.5, 0.25]).item<float>(), 5);
        Assert.Throws<ArgumentException>(() => VarTrainer.ScaleWeighted(ce, ranges, [1, 1]));
    }

    [Fact]
    public void LayerSelectionFreezesEverythingOutsideTheGroups()
    {
        using var model = TinyModel();
        long tuned = SubjectLayers.Select(model, SubjectLayers.Parse(["ffn"]));
        var trainable = model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => p.name).ToList();
        Assert.Contains(ClassInsertion.ClassTable, trainable);
        Assert.All(trainable.Where(n => n != ClassInsertion.ClassTable), n => Assert.Contains(".ffn.", n));
        Assert.Equal(model.named_parameters().Where(p => p.name.Contains(".ffn.")).Sum(p => p.parameter.numel()) + Tiny.EmbedDim, tuned);
        Assert.Throws<ArgumentException>(() => SubjectLayers.Parse(["ffn", "cross-attention"]));
    }
}
