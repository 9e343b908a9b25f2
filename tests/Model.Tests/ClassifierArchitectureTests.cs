using Var.Model.Classifiers;

namespace Var.Model.Tests;

public class ClassifierArchitectureTests
{
    [Fact]
    public void TheMlpJudgeHasNoSpatialMapAndSharesNoLayerShapeWithTheCnnJudge()
    {
        using var scope = NewDisposeScope();
        using var mlp = new ImageClassifier(ClassifierConfig.Judge2);
        using var cnn = new ImageClassifier(ClassifierConfig.Judge);
        var images = rand(5, 3, 32, 32).mul(2).sub(1);
        var (logits, features) = mlp.ForwardWithFeatures(images);
        Assert.Equal(new long[] { 5, 10 }, logits.shape);
        Assert.Equal(new long[] { 5, ClassifierConfig.Judge2.FeatureDim }, features.shape);
        // 1×1 channel mix (3 + 1), 1024 → 192, 192 → 64, 64 → 10.
        Assert.Equal(4 + 1024 * 192 + 192 + 192 * 64 + 64 + 64 * 10 + 10, mlp.parameters().Sum(p => p.numel()));
        Assert.Throws<InvalidOperationException>(() => mlp.SpatialFeatures(images));
        var mlpShapes = mlp.state_dict().Values.Where(t => t.dim() > 1).Select(t => string.Join("x", t.shape)).ToHashSet();
        var cnnShapes = cnn.state_dict().Values.Where(t => t.dim() > 1).Select(t => string.Join("x", t.shape)).ToHashSet();
        Assert.Equal(["10x64"], mlpShapes.Intersect(cnnShapes));
    }

    [Fact]
    public void TheExistingArchitecturesKeepTheirStateDictKeys()
    {
        using var reward = new ImageClassifier(ClassifierConfig.Reward);
        using var judge = new ImageClassifier(ClassifierConfig.Judge);
        Assert.Equal(["trunk.0.weight", "trunk.0.bias", "trunk.2.weight", "trunk.2.bias", "trunk.5.weight", "trunk.5.bias", "trunk.7.weight", "trunk.7.bias",
            "trunk.10.weight", "trunk.10.bias", "feature.weight", "feature.bias", "head.weight", "head.bias"], reward.state_dict().Keys);
        Assert.Equal(["trunk.0.weight", "trunk.0.bias", "trunk.3.weight", "trunk.3.bias", "trunk.6.weight", "trunk.6.bias",
            "feature.weight", "feature.bias", "head.weight", "head.bias"], judge.state_dict().Keys);
        Assert.Throws<ArgumentException>(() => new ImageClassifier(ClassifierConfig.Judge with { Architecture = "vit" }));
    }
}
