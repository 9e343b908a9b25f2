using Var.Model.Checkpoints;
using Var.Model.Transformer;
using Var.Model.Vqvae;

namespace Var.Model.Tests;

/// <summary>Every tensor of fixtures/var-parity reproduced within 1e-4 (fp32) from its .pth files.</summary>
public class VarParityTests
{
    private static readonly int[] FixturePatchNums = [1, 2, 3, 4];

    private static VarTransformer LoadVar(string file)
    {
        using var sd = StateDict.Read(Fixtures.VarParity(file));
        var model = new VarTransformer(ConfigDetector.DetectVar(sd));
        sd.LoadInto(model);
        model.eval();
        return model;
    }

    [SkippableFact]
    public void DetectedConfigurationsMatchTheManifest()
    {
        using var vaeSd = StateDict.Read(Fixtures.VarParity("vae.pth"));
        var vc = ConfigDetector.DetectVqvae(vaeSd, FixturePatchNums);
        Assert.Equal((64, 8, 32, 2, 4), (vc.VocabSize, vc.ZChannels, vc.Ch, vc.NumResBlocks, vc.ShareQuantResi));
        Assert.Equal(new[] { 1, 1, 2, 2, 4 }, vc.ChMult);
        using var l2Sd = StateDict.Read(Fixtures.VarParity("var_l2.pth"));
        var l2 = ConfigDetector.DetectVar(l2Sd);
        Assert.Equal((2, 128, 2, 10, true, false), (l2.Depth, l2.EmbedDim, l2.NumHeads, l2.NumClasses, l2.AttnL2Norm, l2.SharedAdaLn));
        Assert.Equal(FixturePatchNums, l2.PatchNums);
        using var plainSd = StateDict.Read(Fixtures.VarParity("var_plain.pth"));
        Assert.False(ConfigDetector.DetectVar(plainSd).AttnL2Norm);
    }

    [SkippableFact]
    public void VqvaeMatchesReference()
    {
        using var expected = Fixtures.Expected();
        using var vae = Fixtures.VarParityVae();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var e = expected.Tensors;
        var image = e["image"];
        var f = vae.Encode(image);
        Fixtures.AssertClose(e["vae.enc_f"], f, "vae.enc_f");
        var (idx, fHats) = vae.Quantizer.Quantize(f, keepFHats: true);
        for (int si = 0; si < idx.Length; si++)
            Assert.True(e[$"vae.idx.{si}"].eq(idx[si]).all().item<bool>(), $"vae.idx.{si} differs");
        Fixtures.AssertClose(e["vae.f_hat"], fHats![^1], "vae.f_hat");
        var gtIdx = Enumerable.Range(0, 4).Select(si => e[$"vae.idx.{si}"]).ToArray();
        Fixtures.AssertClose(e["vae.f_hat"], vae.Quantizer.TokensToFHat(gtIdx), "vae.f_hat (from tokens)");
        Fixtures.AssertClose(e["vae.recon"], vae.TokensToImage(gtIdx), "vae.recon");
        Fixtures.AssertClose(e["vae.var_input"], vae.Quantizer.TokensToVarInput(gtIdx), "vae.var_input");
    }

    [SkippableTheory]
    [InlineData("l2", "var_l2.pth")]
    [InlineData("plain", "var_plain.pth")]
    public void TransformerMatchesReference(string prefix, string file)
    {
        using var expected = Fixtures.Expected();
        using var vae = Fixtures.VarParityVae();
        using var model = LoadVar(file);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var e = expected.Tensors;
        var labels = e["labels"];
        Fixtures.AssertClose(e[$"{prefix}.logits_teacher"], model.forward(labels, e["vae.var_input"]), $"{prefix}.logits_teacher");

        // KV-cached inference with the fixture's tokens fed forward, CFG 1.5 (manifest notes).
        long b = labels.shape[0];
        int sn = model.Config.NumScales;
        var cond = model.ClassEmbedding(cat(new[] { labels, full(b, model.Config.NullClass, dtype: ScalarType.Int64) }, 0));
        var mods = model.BlockModulations(cond);
        using var cache = model.NewCache();
        var x = model.StartInput(cond);
        var fHat = zeros(b, vae.Config.ZChannels, 4, 4);
        for (int si = 0; si < sn; si++)
        {
            var logits = model.CachedStep(x, mods, cond, cache);
            double t = 1.5 * si / (sn - 1);
            var guided = logits[..(int)b] * (1 + t) - logits[(int)b..] * t;
            Fixtures.AssertClose(e[$"{prefix}.cached_logits_cond.{si}"], logits[..(int)b], $"{prefix}.cached_logits_cond.{si}");
            Fixtures.AssertClose(e[$"{prefix}.cached_logits_guided.{si}"], guided, $"{prefix}.cached_logits_guided.{si}");
            fHat = vae.Quantizer.AddScale(si, fHat, vae.Quantizer.EmbedTokens(e[$"vae.idx.{si}"]));
            if (si < sn - 1)
                x = model.ScaleInput(vae.Quantizer.DownToScale(fHat, si + 1), si + 1).repeat(2, 1, 1);
        }
        Fixtures.AssertClose(e[$"{prefix}.final_image01"], vae.FHatToImage(fHat).add(1).div(2), $"{prefix}.final_image01");
    }

    [Fact]
    public void PhiIndexMatchesReferenceTables()
    {
        int[] Map(int sn) => Enumerable.Range(0, sn).Select(si => ResidualQuantizer.PhiIndex(si, sn, 4)).ToArray();
        Assert.Equal(new[] { 0, 0, 1, 1, 1, 2, 2, 3, 3, 3 }, Map(10));
        Assert.Equal(new[] { 0, 0, 1, 1, 2, 2, 2, 3, 3 }, Map(9));
        Assert.Equal(new[] { 0, 0, 0, 1, 1, 2, 2, 2, 3, 3, 3 }, Map(11));
        Assert.Equal(new[] { 0, 0, 1, 2, 3, 3 }, Map(6));
        Assert.Equal(new[] { 0, 1, 2, 3 }, Map(4));
        Assert.Equal(new[] { 0, 3 }, Map(2));
        Assert.Equal(new[] { 0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3 }, Map(13));
    }
}
