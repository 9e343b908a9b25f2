using Var.Model;
using Var.Model.Classes;
using Var.Model.Transformer;
using Var.Model.Vqvae;

namespace Var.Decoding.Tests;

/// <summary>Small random models, big enough that sampling is non-trivial.</summary>
internal static class TinyModels
{
    public static readonly int[] PatchNums = [1, 2, 3, 4];

    public static ModelBundle Create(int seed = 0, string dtype = "float32")
    {
        manual_seed(seed);
        var vq = new VqvaeConfig
        {
            VocabSize = 64,
            ZChannels = 8,
            Ch = 32,
            ChMult = [1, 2],
            NumResBlocks = 1,
            UsingSa = false,
            UsingMidSa = true,
            PatchNums = PatchNums,
        };
        var vc = new VarConfig
        {
            Depth = 2,
            EmbedDim = 64,
            NumHeads = 2,
            NumClasses = 5,
            VocabSize = 64,
            VaeChannels = 8,
            PatchNums = PatchNums,
        };
        var vae = new MultiScaleVqvae(vq);
        var var = new VarTransformer(vc);
        // Strong modulation and head so that logits are far from uniform.
        var.InitWeights(Math.Sqrt(1.0 / 3 / vc.EmbedDim), initAdaln: 0.5, initAdalnGamma: 1.0, initHead: 3.0);
        return new ModelBundle("tiny", vae, var, ClassCatalog.Unnamed(5), CPU,
            dtype == "float32" ? ScalarType.Float32 : ScalarType.BFloat16);
    }

    /// <summary>A bundle of two tiny transformers of different widths sharing one tokenizer: "var" (drafter) and "refiner".</summary>
    public static ModelBundle CreatePair(int seed = 0)
    {
        var drafter = Create(seed);
        manual_seed(seed + 100);
        var rc = drafter.Transformer.Config with { EmbedDim = 32, NumHeads = 1, Depth = 1 };
        var refiner = new VarTransformer(rc);
        refiner.InitWeights(Math.Sqrt(1.0 / 3 / rc.EmbedDim), initAdaln: 0.5, initAdalnGamma: 1.0, initHead: 3.0);
        return new ModelBundle("tiny-pair", drafter.Vqvae, new Dictionary<string, VarTransformer> { ["var"] = drafter.Transformer, ["refiner"] = refiner }, "var",
            new Dictionary<string, Var.Model.Classifiers.ImageClassifier>(), ClassCatalog.Unnamed(5), CPU, ScalarType.Float32);
    }
}
