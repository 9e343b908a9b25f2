using Var.Model;
using Var.Model.Checkpoints;
using Var.Model.Classes;
using Var.Model.Transformer;
using Var.Model.Vqvae;
using static TorchSharp.torch;

namespace Var.Service.Tests;

/// <summary>
/// A tiny random model written as a model folder (safetensors + model.json) under a temporary models folder, so the
/// service loads it through its real loading path. 8×8 images, scales [1,2,3,4], the ten Fashion-MNIST class names.
/// </summary>
public sealed class TinyModelFolder : IDisposable
{
    /// <summary>Name of the model folder.</summary>
    public const string Name = "tiny";

    private static readonly Lazy<TinyModelFolder> shared = new(() =>
    {
        var folder = new TinyModelFolder();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => folder.Dispose();
        return folder;
    });

    /// <summary>One folder for the whole test run (deleted at exit).</summary>
    public static TinyModelFolder Shared => shared.Value;

    /// <summary>Writes a new folder.</summary>
    public TinyModelFolder()
    {
        Root = Path.Combine(Path.GetTempPath(), "var-service-tests-" + Guid.NewGuid().ToString("N")[..8]);
        var folder = Path.Combine(Root, Name);
        Directory.CreateDirectory(folder);
        int[] patchNums = [1, 2, 3, 4];
        var vq = new VqvaeConfig
        {
            VocabSize = 64,
            ZChannels = 8,
            Ch = 16,
            ChMult = [1, 2],
            NumResBlocks = 1,
            UsingSa = false,
            UsingMidSa = false,
            PatchNums = patchNums,
        };
        var vc = new VarConfig { Depth = 2, EmbedDim = 64, NumHeads = 2, NumClasses = 10, VocabSize = 64, VaeChannels = 8, PatchNums = patchNums };
        var rc = vc with { Depth = 1, EmbedDim = 32, NumHeads = 1 };
        var hc = new HmarConfig { Backbone = vc, TailDepth = 1 };
        using (var scope = NewDisposeScope())
        {
            manual_seed(7);
            using var vae = new MultiScaleVqvae(vq);
            using var var = new VarTransformer(vc);
            // Strong modulation and head so that samples depend clearly on class, seed and settings.
            var.InitWeights(Math.Sqrt(1.0 / 3 / vc.EmbedDim), initAdaln: 0.5, initAdalnGamma: 1.0, initHead: 3.0);
            StateDict.WriteSafetensors(Path.Combine(folder, "vqvae.safetensors"), vae.state_dict().Select(kv => (kv.Key, kv.Value)));
            StateDict.WriteSafetensors(Path.Combine(folder, "var.safetensors"), var.state_dict().Select(kv => (kv.Key, kv.Value)));
            manual_seed(8);
            using var refiner = new VarTransformer(rc);
            refiner.InitWeights(Math.Sqrt(1.0 / 3 / rc.EmbedDim), initAdaln: 0.5, initAdalnGamma: 1.0, initHead: 3.0);
            StateDict.WriteSafetensors(Path.Combine(folder, "refiner.safetensors"), refiner.state_dict().Select(kv => (kv.Key, kv.Value)));
            manual_seed(9);
            using var hmar = new HmarTransformer(hc);
            StateDict.WriteSafetensors(Path.Combine(folder, "hmar.safetensors"), hmar.state_dict().Select(kv => (kv.Key, kv.Value)));
        }
        var catalog = ClassCatalog.FashionMnist;
        new ModelManifest
        {
            Name = Name,
            Description = "random weights for tests",
            ImageSize = vq.ImageSize,
            Classes = Enumerable.Range(0, catalog.Count).Select(i => string.Join(", ", catalog.SynonymsOf(i))).ToList(),
            Sampling = new SamplingSettings { Cfg = 2.0, TopK = 20, TopP = 0.9 },
            Code = new CodeDefaults { DraftScales = 2 },
            Components =
            {
                ["vqvae"] = new ComponentEntry { Kind = "vqvae", File = "vqvae.safetensors", Config = ComponentEntry.ConfigFrom(vq) },
                ["var"] = new ComponentEntry { Kind = "var", File = "var.safetensors", Config = ComponentEntry.ConfigFrom(vc) },
                ["refiner"] = new ComponentEntry { Kind = "var", File = "refiner.safetensors", Config = ComponentEntry.ConfigFrom(rc) },
                [ModelLoader.HmarRole] = new ComponentEntry { Kind = ModelLoader.HmarKind, File = "hmar.safetensors", Config = ComponentEntry.ConfigFrom(hc) },
            },
        }.Write(Path.Combine(folder, ModelManifest.FileName));
    }

    /// <summary>The models folder (holding <see cref="Name"/>).</summary>
    public string Root { get; }

    /// <inheritdoc />
    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
