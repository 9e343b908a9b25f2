using Var.Model.Classifiers;
using Var.Model;
using Var.Decoding.Imaging;
using Var.Decoding.Sampling;
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
    public void TheShippedHmarHasTheVarsSizeAndGeneratesWithItsDecoder()
    {
        string? folder = TestData.ShippedModelFolder();
        Skip.If(folder is null, "weights/fmnist/model.json is absent");
        var manifest = ModelManifest.Read(Path.Combine(folder!, ModelManifest.FileName));
        Skip.IfNot(manifest.Components.ContainsKey(ModelLoader.HmarRole), "no HMAR shipped yet");
        using var model = ModelLoader.Load(new ModelSource { Model = folder });
        var hmar = model.HmarFor(ModelLoader.HmarRole);
        var var = model.Transformer.Config;
        Assert.Equal((var.Depth, var.EmbedDim, var.NumHeads), (hmar.Backbone.Depth, hmar.Backbone.EmbedDim, hmar.Backbone.NumHeads));
        var requests = new[] { new SampleRequest(3, 1, model.Sampling), new SampleRequest(8, 2, model.Sampling) };
        var images = new ImageGenerator(model, new Var.Decoding.Decoders.HmarDecoding()).Generate(requests);
        Assert.All(images, i => Assert.Equal(model.ImageSize * model.ImageSize * 3, i!.Rgb.Length));
        Assert.NotNull(manifest.Components[ModelLoader.HmarRole].Provenance?["initialised_from"]);
    }

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
        Assert.True(totalBytes < 40_000_000, $"weights/ holds {totalBytes} bytes");
        foreach (var (role, entry) in manifest.Components)
        {
            nn.Module module = entry.Kind switch
            {
                "vqvae" => new MultiScaleVqvae(entry.ConfigAs<VqvaeConfig>()),
                "var" => new VarTransformer(entry.ConfigAs<VarConfig>()),
                ModelLoader.HmarKind => new HmarTransformer(entry.ConfigAs<HmarConfig>()),
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
        using var judge = ModelLoader.LoadClassifier(folder!, "judge");
        var test = FashionMnist.Load("test");
        double accuracy = ClassifierTrainer.Accuracy(judge, test, test.BalancedSubset(100, seed: 0));
        Assert.True(accuracy >= 0.85, $"judge accuracy {accuracy:P1}");
    }

    [SkippableFact]
    public void TheSecondJudgeIsAnotherArchitectureOutOfTheBundleAndClassifiesRealTestImages()
    {
        string? folder = TestData.ShippedModelFolder();
        Skip.If(folder is null, "weights/fmnist/model.json is absent");
        Skip.IfNot(FashionMnist.IsAvailable(), "Fashion-MNIST is not installed (apt-get install -y dataset-fashion-mnist)");
        Assert.Equal(new[] { "judge", "judge2" }, ModelLoader.JudgeRoles(folder!));
        using var judge = ModelLoader.LoadClassifier(folder!, "judge");
        using var judge2 = ModelLoader.LoadClassifier(folder!, "judge2");
        Assert.NotEqual(judge.Config.Architecture, judge2.Config.Architecture);
        using (var model = ModelLoader.Load(new ModelSource { Model = folder }))
            Assert.DoesNotContain("judge2", model.Classifiers.Keys);
        var test = FashionMnist.Load("test");
        double accuracy = ClassifierTrainer.Accuracy(judge2, test, test.AllIndices());
        Assert.True(accuracy >= 0.88, $"judge2 accuracy {accuracy:P2} on the 10000 test images");
    }

    // Three fixed seeds per class, drawn with the model's default settings: each judge (never used by the sampler) must
    // recognise at least 25 of the 30 and at least one of every class (their per-class accuracy on shirts is ~0.6).
    [SkippableFact]
    public void DefaultSamplesPerClassAreRecognisedByBothJudges()
    {
        string? folder = TestData.ShippedModelFolder();
        Skip.If(folder is null, "weights/fmnist/model.json is absent");
        var manifest = ModelManifest.Read(Path.Combine(folder!, ModelManifest.FileName));
        Skip.IfNot(manifest.Components.ContainsKey("judge"), "no judge shipped yet");
        using var scope = NewDisposeScope();
        using var model = ModelLoader.Load(new ModelSource { Model = folder });
        var settings = model.Sampling;
        var requests = Enumerable.Range(0, 10).SelectMany(c => Enumerable.Range(0, 3).Select(i => new SampleRequest(c, 100 * c + i, settings))).ToList();
        var images = new ImageGenerator(model).Generate(requests);
        var batch = ImageCodec.ToTensor(images.Select(img => img!.Rgb).ToList(), model.ImageSize, CPU);
        foreach (string role in ModelLoader.JudgeRoles(folder!))
        {
            using var judge = ModelLoader.LoadClassifier(folder!, role);
            Tensor predicted;
            using (no_grad()) predicted = judge.forward(batch).argmax(1);
            var correct = new int[10];
            for (int n = 0; n < requests.Count; n++)
                if (predicted[n].item<long>() == requests[n].ClassId) correct[requests[n].ClassId]++;
            string detail = string.Join(", ", correct.Select((k, c) => $"{FashionMnistClasses.Names[c]} {k}/3"));
            Assert.True(correct.Sum() >= 25, $"{role} recognised {correct.Sum()}/30: {detail}");
            Assert.True(correct.All(k => k >= 1), $"{role}: a class with no recognised sample: {detail}");
        }
    }

    // The default transformer's model.json entry records how it was made and what it scores at the folder's default
    // sampling settings, in every judge's feature space (the README's quality table quotes these).
    [SkippableFact]
    public void TheDefaultTransformerRecordsItsAverageAndItsQualityAtTheDefaultSettings()
    {
        string? folder = TestData.ShippedModelFolder();
        Skip.If(folder is null, "weights/fmnist/model.json is absent");
        var manifest = ModelManifest.Read(Path.Combine(folder!, ModelManifest.FileName));
        // Both the var transformer and the component of the folder's default decoder (hmar for fmnist) record them.
        foreach (string component in new[] { "var", manifest.Decoder == "hmar" ? ModelLoader.HmarRole : "var" }.Distinct())
        {
            var entry = manifest.Components[component];
            Assert.NotNull(entry.Provenance?["ema_decay"]);
            Assert.Equal("bfloat16", entry.Provenance?["stored_dtype"]?.GetValue<string>());
            var quality = entry.Quality?["default_settings"]?.AsObject();
            Assert.True(quality is not null, $"{component}.quality.default_settings is missing");
            Assert.Equal(manifest.Sampling!.Cfg, quality!["cfg"]!.GetValue<double>());
            foreach (string role in ModelLoader.JudgeRoles(folder!))
            {
                var judged = quality[role]?.AsObject();
                Assert.True(judged is not null, $"no {role} figures in {component}.quality.default_settings");
                double ratio = judged!["frechet_ratio"]!.GetValue<double>();
                Assert.InRange(ratio, 1.0, 50.0);
                Assert.InRange(judged["judge_accuracy"]!.GetValue<double>(), 0.5, 1.0);
            }
        }
    }
}
