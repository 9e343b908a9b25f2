using Var.Model.Checkpoints;
using Var.Model.Transformer;
using Var.Model.Vqvae;

namespace Var.Model.Tests;

/// <summary>Every tensor of fixtures/hmar-parity reproduced within 1e-4 (fp32) from its hmar.pth and the VAR fixture's VQVAE.</summary>
public class HmarParityTests
{
    private const double Tolerance = 1e-4;
    private static readonly int[] FixturePatchNums = [1, 2, 3, 4];

    // manifest.json "constants": cfg 1.5; masked steps guide with t = cfg·1e-6 (hmar.md §3 step 4).
    private const double Cfg = 1.5;
    private const double MaskedStepRatio = 1e-6;

    private static MultiScaleVqvae LoadVae()
    {
        using var sd = StateDict.Read(Fixtures.VarParity("vae.pth"));
        var vae = new MultiScaleVqvae(ConfigDetector.DetectVqvae(sd, FixturePatchNums));
        sd.LoadInto(vae, tolerated: new HashSet<string> { "quantize.ema_vocab_hit_SV" });
        vae.eval();
        return vae;
    }

    private static HmarTransformer LoadHmar()
    {
        using var sd = StateDict.Read(Fixtures.HmarParity("hmar.pth"));
        var model = new HmarTransformer(ConfigDetector.DetectHmar(sd));
        sd.LoadInto(model);
        model.eval();
        return model;
    }

    private static StateDict Expected() => StateDict.Read(Fixtures.HmarParity("expected.safetensors"));

    private static void AssertClose(Tensor expected, Tensor actual, string name)
    {
        Assert.Equal(expected.shape, actual.shape);
        double diff = (expected.to(ScalarType.Float64) - actual.to(ScalarType.Float64)).abs().max().item<double>();
        Assert.True(diff <= Tolerance, $"{name}: max abs diff {diff:E3} > {Tolerance:E0}");
    }

    private static Tensor Guided(Tensor logits2B, double t)
    {
        long b = logits2B.shape[0] / 2;
        return logits2B.narrow(0, 0, b) * (1 + t) - logits2B.narrow(0, b, b) * t;
    }

    [SkippableFact]
    public void DetectedConfigurationMatchesTheManifest()
    {
        using var sd = StateDict.Read(Fixtures.HmarParity("hmar.pth"));
        Assert.True(ConfigDetector.IsHmar(sd));
        var c = ConfigDetector.DetectHmar(sd);
        var b = c.Backbone;
        Assert.Equal((3, 2, 1, 128, 2, 10, 64, 8, true), (b.Depth, c.TailDepth, c.BaseDepth, b.EmbedDim, b.NumHeads, b.NumClasses, b.VocabSize, b.VaeChannels, b.AttnL2Norm));
        Assert.Equal(FixturePatchNums, b.PatchNums);
        using var varSd = StateDict.Read(Fixtures.VarParity("var_l2.pth"));
        Assert.False(ConfigDetector.IsHmar(varSd));
    }

    [SkippableFact]
    public void TheOneLoaderDetectsAnOfficialHmarFile()
    {
        using var bundle = ModelLoader.Load(new ModelSource { VaeFile = Fixtures.VarParity("vae.pth"), VarFile = Fixtures.HmarParity("hmar.pth") });
        Assert.Equal(ModelLoader.HmarRole, bundle.DefaultTransformer);
        Assert.Empty(bundle.Transformers);
        Assert.Equal(2, bundle.HmarFor(ModelLoader.HmarRole).Config.TailDepth);
        Assert.Equal(10, bundle.NumClasses);
        Assert.Equal(FixturePatchNums, bundle.Vqvae.Config.PatchNums);
        Assert.Throws<InvalidOperationException>(() => bundle.Transformer);
    }

    [SkippableFact]
    public void TeacherInputsMatchReference()
    {
        using var expected = Expected();
        using var vae = LoadVae();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var e = expected.Tensors;
        var idx = Enumerable.Range(0, 4).Select(si => e[$"vae.idx.{si}"]).ToArray();
        AssertClose(e["vae.ns_input"], vae.Quantizer.TokensToVarInput(idx), "vae.ns_input");
        AssertClose(e["vae.mask_input"], vae.Quantizer.TokensToMaskInput(idx), "vae.mask_input");
    }

    [SkippableFact]
    public void TeacherForcedLogitsMatchReference()
    {
        using var expected = Expected();
        using var model = LoadHmar();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var e = expected.Tensors;
        var labels = e["labels"].to(ScalarType.Int64);
        AssertClose(e["ns.logits_teacher"], model.forward(labels, e["vae.ns_input"]), "ns.logits_teacher");
        var masked = e["mask.train.is_masked"].to(ScalarType.Bool);
        AssertClose(e["mask.train.logits"], model.MaskedForward(labels, e["vae.ns_input"], e["vae.mask_input"], masked), "mask.train.logits");
    }

    [SkippableFact]
    public void PerScaleInferenceTensorsMatchReference()
    {
        using var expected = Expected();
        using var vae = LoadVae();
        using var model = LoadHmar();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var e = expected.Tensors;
        var labels = e["labels"].to(ScalarType.Int64);
        long b = labels.shape[0];
        var labels2B = cat(new[] { labels, full(b, model.Backbone.NullClass, dtype: ScalarType.Int64) }, 0);
        var cond = model.ClassEmbedding(labels2B);
        var mods = model.BlockModulations(cond);
        var q = vae.Quantizer;
        var fHat = zeros(b, 8, 4, 4);
        int k = FixturePatchNums.Length, masks = 0;
        for (int si = 0; si < k; si++)
        {
            var idx = e[$"vae.idx.{si}"];
            var next = si == 0 ? null : q.DownToScale(fHat, si);
            var x = si == 0 ? model.StartInput(cond) : model.ScaleInput(next!, si).repeat(2, 1, 1);
            AssertClose(e[$"ns.infer.input.{si}"], x, $"ns.infer.input.{si}");
            var logits = model.ScaleLogits(x, mods, cond, HmarTransformer.Head.NextScale);
            AssertClose(e[$"ns.infer.logits.{si}"], logits, $"ns.infer.logits.{si}");
            AssertClose(e[$"ns.infer.guided.{si}"], Guided(logits, Cfg * si / (k - 1)), $"ns.infer.guided.{si}");
            var own = si == 0 ? null : q.OwnScaleInput(si, idx);
            for (int step = 1; e.ContainsKey($"mask.infer.{si}.{step}.input"); step++, masks++)
            {
                string name = $"mask.infer.{si}.{step}";
                int l = FixturePatchNums[si] * FixturePatchNums[si];
                var at = e[$"{name}.idx_to_mask"].to(ScalarType.Int64);
                var maskedBl = zeros(new long[] { b, l }, dtype: ScalarType.Bool).scatter_(1, at, ones_like(at, dtype: ScalarType.Bool));
                var xm = model.MaskedInput(next!, own!, maskedBl, si).repeat(2, 1, 1);
                AssertClose(e[$"{name}.input"], xm, $"{name}.input");
                var ml = model.ScaleLogits(xm, mods, cond, HmarTransformer.Head.Masked);
                AssertClose(e[$"{name}.logits"], ml, $"{name}.logits");
                AssertClose(e[$"{name}.guided"], Guided(ml, Cfg * MaskedStepRatio), $"{name}.guided");
            }
            fHat = q.AddScale(si, fHat, q.EmbedTokens(idx));
        }
        Assert.Equal(4, masks);
        AssertClose(e["final_image01"], vae.FHatToImage(fHat).add(1).div(2), "final_image01");
    }
}
