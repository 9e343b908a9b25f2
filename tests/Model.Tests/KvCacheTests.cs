using Var.Model.Transformer;
using Var.Model.Vqvae;

namespace Var.Model.Tests;

public class KvCacheTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void KvCachedLogitsMatchFullForward(bool l2)
    {
        manual_seed(7);
        int[] pns = [1, 2, 3, 5];
        using var vae = new MultiScaleVqvae(new VqvaeConfig { VocabSize = 50, ZChannels = 4, Ch = 32, ChMult = [1, 2], NumResBlocks = 1, UsingSa = false, PatchNums = pns });
        using var var = new VarTransformer(new VarConfig { Depth = 3, EmbedDim = 96, NumHeads = 3, NumClasses = 4, VocabSize = 50, VaeChannels = 4, PatchNums = pns, AttnL2Norm = l2 });
        var.InitWeights(0.06, 0.5, 1.0, 1.0);
        var.eval();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var idx = pns.Select(pn => randint(0, 50, new long[] { 2, pn * pn })).ToArray();
        var labels = tensor(new long[] { 1, 3 });
        var full = var.Forward(labels, vae.Quantizer.TokensToVarInput(idx));

        var cond = var.ClassEmbedding(labels);
        var mods = var.BlockModulations(cond);
        var.EnableKvCache();
        var x = var.StartInput(cond);
        var fHat = zeros(2, 4, 5, 5);
        for (int si = 0; si < pns.Length; si++)
        {
            var (begin, end) = var.ScaleRanges[si];
            var cached = var.CachedStep(x, mods, cond);
            double diff = (cached - full.narrow(1, begin, end - begin)).abs().max().item<float>();
            Assert.True(diff < 2e-5, $"scale {si}: {diff:E2}");
            fHat = vae.Quantizer.AddScale(si, fHat, vae.Quantizer.EmbedTokens(idx[si]));
            if (si < pns.Length - 1) x = var.ScaleInput(vae.Quantizer.DownToScale(fHat, si + 1), si + 1);
        }
        var.DisableKvCache();
        Assert.True(full.std().item<float>() > 0.1);
    }
}

public class InitialisationTests
{
    [Fact]
    public void FreshModulesHaveFiniteParametersAndUnitNorms()
    {
        using var vae = new MultiScaleVqvae(new VqvaeConfig { VocabSize = 16, ZChannels = 4, Ch = 32, ChMult = [1, 2], NumResBlocks = 1, PatchNums = [1, 2] });
        using var var = new VarTransformer(new VarConfig { Depth = 1, EmbedDim = 64, NumHeads = 1, NumClasses = 2, VocabSize = 16, VaeChannels = 4, PatchNums = [1, 2] });
        foreach (var (name, p) in vae.named_parameters().Concat(var.named_parameters()))
        {
            Assert.True(p.isfinite().all().item<bool>(), $"{name} has non-finite values");
            Assert.True(p.abs().max().item<float>() < 10, $"{name} is not initialised sensibly");
        }
        foreach (var (name, p) in vae.named_parameters().Where(kv => kv.name.Contains("norm")))
        {
            float expected = name.EndsWith("weight") ? 1 : 0;
            Assert.True(p.eq(expected).all().item<bool>(), $"{name} should start at {expected}");
        }
    }
}
