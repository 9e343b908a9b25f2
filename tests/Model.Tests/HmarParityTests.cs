using Var.Model.Checkpoints;
using Var.Model.Transformer;
using Var.Model.Vqvae;

namespace Var.Model.Tests;

/// <summary>Every tensor of fixtures/hmar-parity reproduced within 1e-4 (fp32) from its hmar.pth and the VAR fixture's VQVAE.</summary>
public class HmarParityTests
{
    private static readonly int[] FixturePatchNums = [1, 2, 3, 4];

    // manifest.json "constants": cfg 1.5; masked steps guide with t = cfg·1e-6 (hmar.md §3 step 4).
    private const double Cfg = 1.5;
    private const double MaskedStepRatio = 1e-6;

    private static HmarTransformer LoadHmar()
    {
        using var sd = StateDict.Read(Fixtures.HmarParity("hmar.pth"));
        var model = new HmarTransformer(ConfigDetector.DetectHmar(sd));
        sd.LoadInto(model);
        model.eval();
        return model;
    }

    private static StateDict Expected() => StateDict.Read(Fixtures.HmarParity("expected.safetensors"));

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
    public void AMaskedStepWithEveryTokenMaskedIsTheNextScaleHead()
    {
        // With the masked tail a copy of the next-scale tail and a zero mask embedding, a fully masked input carries no
        // trace of the scale's own tokens, so the masked head must give the next-scale head's logits.
        using var model = LoadHmar();
        using var vae = Fixtures.VarParityVae();
        using var expected = Expected();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var own = model.state_dict();
        foreach (var key in own.Keys.Where(k => k.StartsWith("ns_")).ToArray())
            own["mask_" + key[3..]].copy_(own[key]);
        own["mask_embed.weight"].zero_();
        var e = expected.Tensors;
        var labels = e["labels"].to(ScalarType.Int64);
        var cond = model.ClassEmbedding(labels);
        var mods = model.BlockModulations(cond);
        var q = vae.Quantizer;
        var idx = Enumerable.Range(0, 4).Select(si => e[$"vae.idx.{si}"]).ToArray();
        var fHat = q.AddScale(0, zeros(2, 8, 4, 4), q.EmbedTokens(idx[0]));
        for (int si = 1; si < FixturePatchNums.Length; si++)
        {
            var next = q.DownToScale(fHat, si);
            var all = ones(new long[] { 2, FixturePatchNums[si] * FixturePatchNums[si] }, dtype: ScalarType.Bool);
            var masked = model.ScaleLogits(model.MaskedInput(next, q.OwnScaleInput(si, idx[si]), all, si), mods, cond, HmarTransformer.Head.Masked);
            var nextScale = model.ScaleLogits(model.ScaleInput(next, si), mods, cond, HmarTransformer.Head.NextScale);
            Fixtures.AssertClose(nextScale, masked, $"scale {si}");
            var none = zeros_like(all);
            var visible = model.ScaleLogits(model.MaskedInput(next, q.OwnScaleInput(si, idx[si]), none, si), mods, cond, HmarTransformer.Head.Masked);
            Assert.True((visible - nextScale).abs().max().item<float>() > 1e-3, $"scale {si}: visible tokens should change the masked head's logits");
            fHat = q.AddScale(si, fHat, q.EmbedTokens(idx[si]));
        }
    }

    [SkippableFact]
    public void TeacherInputsMatchReference()
    {
        using var expected = Expected();
        using var vae = Fixtures.VarParityVae();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var e = expected.Tensors;
        var idx = Enumerable.Range(0, 4).Select(si => e[$"vae.idx.{si}"]).ToArray();
        Fixtures.AssertClose(e["vae.ns_input"], vae.Quantizer.TokensToVarInput(idx), "vae.ns_input");
        Fixtures.AssertClose(e["vae.mask_input"], vae.Quantizer.TokensToMaskInput(idx), "vae.mask_input");
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
        Fixtures.AssertClose(e["ns.logits_teacher"], model.forward(labels, e["vae.ns_input"]), "ns.logits_teacher");
        var masked = e["mask.train.is_masked"].to(ScalarType.Bool);
        Fixtures.AssertClose(e["mask.train.logits"], model.MaskedForward(labels, e["vae.ns_input"], e["vae.mask_input"], masked), "mask.train.logits");
    }

    [SkippableFact]
    public void PerScaleInferenceTensorsMatchReference()
    {
        using var expected = Expected();
        using var vae = Fixtures.VarParityVae();
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
            Fixtures.AssertClose(e[$"ns.infer.input.{si}"], x, $"ns.infer.input.{si}");
            var logits = model.ScaleLogits(x, mods, cond, HmarTransformer.Head.NextScale);
            Fixtures.AssertClose(e[$"ns.infer.logits.{si}"], logits, $"ns.infer.logits.{si}");
            Fixtures.AssertClose(e[$"ns.infer.guided.{si}"], Guided(logits, Cfg * si / (k - 1)), $"ns.infer.guided.{si}");
            var own = si == 0 ? null : q.OwnScaleInput(si, idx);
            for (int step = 1; e.ContainsKey($"mask.infer.{si}.{step}.input"); step++, masks++)
            {
                string name = $"mask.infer.{si}.{step}";
                int l = FixturePatchNums[si] * FixturePatchNums[si];
                var at = e[$"{name}.idx_to_mask"].to(ScalarType.Int64);
                var maskedBl = zeros(new long[] { b, l }, dtype: ScalarType.Bool).scatter_(1, at, ones_like(at, dtype: ScalarType.Bool));
                var xm = model.MaskedInput(next!, own!, maskedBl, si).repeat(2, 1, 1);
                Fixtures.AssertClose(e[$"{name}.input"], xm, $"{name}.input");
                var ml = model.ScaleLogits(xm, mods, cond, HmarTransformer.Head.Masked);
                Fixtures.AssertClose(e[$"{name}.logits"], ml, $"{name}.logits");
                Fixtures.AssertClose(e[$"{name}.guided"], Guided(ml, Cfg * MaskedStepRatio), $"{name}.guided");
            }
            fHat = q.AddScale(si, fHat, q.EmbedTokens(idx));
        }
        Assert.Equal(4, masks);
        Fixtures.AssertClose(e["final_image01"], vae.FHatToImage(fHat).add(1).div(2), "final_image01");
    }
}
