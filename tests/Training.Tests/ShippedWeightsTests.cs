using Var.Model.Checkpoints;
using Var.Model.Transformer;
using Var.Model.Vqvae;
using Var.Training.Classifiers;
using Var.Training.Data;
using Var.Training.Evaluation;

namespace Var.Training.Tests;

public class ShippedWeightsTests
{
    [SkippableFact]
    public void EveryShippedComponentLoadsStrictly()
    {
        string? folder = TestData.ShippedModelFolder();
        Skip.If(folder is null, "weights/fmnist/model.json is absent (train and publish the models first)");
        var manifest = ModelManifest.Read(Path.Combine(folder!, ModelManifest.FileName));
        Assert.Equal(32, manifest.ImageSize);
        Assert.Equal(FashionMnistClasses.Names, manifest.Classes);
        Assert.Contains("vqvae", manifest.Components.Keys);
        long totalBytes = Directory.EnumerateFiles(Path.GetDirectoryName(folder)!, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        Assert.True(totalBytes < 30_000_000, $"weights/ holds {totalBytes} bytes");
        foreach (var (role, entry) in manifest.Components)
        {
            nn.Module module = entry.Kind switch
            {
                "vqvae" => new MultiScaleVqvae(entry.ConfigAs<VqvaeConfig>()),
                "var" => new VarTransformer(entry.ConfigAs<VarConfig>()),
                "classifier" => new ImageClassifier(entry.ConfigAs<ClassifierConfig>()),
                _ => throw new InvalidDataException($"unknown kind {entry.Kind} of {role}"),
            };
            using (module)
            using (var sd = StateDict.Read(Path.Combine(folder!, entry.File)))
            {
                sd.LoadInto(module);
                Assert.Equal(entry.Parameters, module.parameters().Sum(p => p.numel()));
            }
            Assert.NotNull(entry.Provenance?["steps"]);
        }
    }

    [SkippableFact]
    public void JudgeClassifiesRealTestImages()
    {
        string? folder = TestData.ShippedModelFolder();
        Skip.If(folder is null, "weights/fmnist/model.json is absent");
        Skip.IfNot(FashionMnist.IsAvailable(), "Fashion-MNIST is not installed (apt-get install -y dataset-fashion-mnist)");
        var manifest = ModelManifest.Read(Path.Combine(folder!, ModelManifest.FileName));
        Skip.IfNot(manifest.Components.ContainsKey("judge"), "no judge shipped yet");
        using var judge = Evaluator.LoadClassifier(folder!, "judge");
        var test = FashionMnist.Load("test");
        double accuracy = ClassifierTrainer.Accuracy(judge, test, test.BalancedSubset(100, seed: 0));
        Assert.True(accuracy >= 0.85, $"judge accuracy {accuracy:P1}");
    }
}
