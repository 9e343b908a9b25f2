using Var.Model.Checkpoints;
using Var.Model.Classes;
using Var.Model.Transformer;
using Var.Model.Vqvae;
using static TorchSharp.torch;

namespace Var.Bench.Service;

/// <summary>The model benchmarked: the shipped weights/fmnist when present, else random weights of the same shape.</summary>
/// <param name="ModelsFolder">Folder holding the model folder.</param>
/// <param name="Name">Model folder name.</param>
/// <param name="Source">"shipped" or "random (fmnist-shaped)".</param>
internal sealed record BenchModel(string ModelsFolder, string Name, string Source)
{
    /// <summary>weights/fmnist if it has a model.json; otherwise writes a random model under a temporary folder.</summary>
    public static BenchModel Resolve()
    {
        var weights = ModelLoader.WeightsDirectory();
        if (weights is not null && File.Exists(Path.Combine(weights, ModelLoader.DefaultModel, ModelManifest.FileName)))
            return new BenchModel(weights, ModelLoader.DefaultModel, "shipped");
        return WriteRandom();
    }

    private static BenchModel WriteRandom()
    {
        var root = Path.Combine(Path.GetTempPath(), "var-service-bench");
        var folder = Path.Combine(root, "random-fmnist");
        Directory.CreateDirectory(folder);
        // Shapes of the project's small Fashion-MNIST models: tokenizer SmallConfig (32×32, V=512), a 6-block VAR.
        var vq = new VqvaeConfig
        {
            VocabSize = 512,
            ZChannels = 16,
            Ch = 32,
            ChMult = [1, 2, 2],
            NumResBlocks = 1,
            UsingSa = false,
            UsingMidSa = false,
            PatchNums = [1, 2, 3, 4, 6, 8],
        };
        var vc = new VarConfig { Depth = 6, EmbedDim = 256, NumHeads = 4, NumClasses = 10, VocabSize = 512, VaeChannels = 16, PatchNums = vq.PatchNums };
        using (var scope = NewDisposeScope())
        {
            manual_seed(1);
            using var vae = new MultiScaleVqvae(vq);
            using var var = new VarTransformer(vc);
            StateDict.WriteSafetensors(Path.Combine(folder, "vqvae.safetensors"), vae.state_dict().Select(kv => (kv.Key, kv.Value)));
            StateDict.WriteSafetensors(Path.Combine(folder, "var.safetensors"), var.state_dict().Select(kv => (kv.Key, kv.Value)));
        }
        var catalog = ClassCatalog.FashionMnist;
        new ModelManifest
        {
            Name = "random-fmnist",
            Description = "random weights shaped like the small Fashion-MNIST model (benchmark stand-in)",
            ImageSize = vq.ImageSize,
            Classes = Enumerable.Range(0, catalog.Count).Select(i => string.Join(", ", catalog.SynonymsOf(i))).ToList(),
            Components =
            {
                ["vqvae"] = new ComponentEntry { Kind = "vqvae", File = "vqvae.safetensors", Config = ComponentEntry.ConfigFrom(vq) },
                ["var"] = new ComponentEntry { Kind = "var", File = "var.safetensors", Config = ComponentEntry.ConfigFrom(vc) },
            },
        }.Write(Path.Combine(folder, ModelManifest.FileName));
        return new BenchModel(root, "random-fmnist", "random (fmnist-shaped)");
    }
}
