using Var.Model.Transformer;
using Var.Model.Vqvae;

namespace Var.Model.Tests;

public class KvCacheTests
{
    private static readonly int[] Scales = [1, 2, 3, 5];

    /// <summary>A random tokenizer and a 3-block transformer with strong modulation, in eval mode.</summary>
    private static (MultiScaleVqvae Vae, VarTransformer Var) SmallPair(bool l2)
    {
        var vae = new MultiScaleVqvae(new VqvaeConfig { VocabSize = 50, ZChannels = 4, Ch = 32, ChMult = [1, 2], NumResBlocks = 1, UsingSa = false, PatchNums = Scales });
        var var = new VarTransformer(new VarConfig { Depth = 3, EmbedDim = 96, NumHeads = 3, NumClasses = 4, VocabSize = 50, VaeChannels = 4, PatchNums = Scales, AttnL2Norm = l2 });
        var.InitWeights(0.06, 0.5, 1.0, 1.0);
        var.eval();
        return (vae, var);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void KvCachedLogitsMatchFullForward(bool l2)
    {
        manual_seed(7);
        int[] pns = Scales;
        var (vae, var) = SmallPair(l2);
        using var vaeOwner = vae;
        using var varOwner = var;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var idx = pns.Select(pn => randint(0, 50, new long[] { 2, pn * pn })).ToArray();
        var labels = tensor(new long[] { 1, 3 });
        var full = var.forward(labels, vae.Quantizer.TokensToVarInput(idx));

        var cond = var.ClassEmbedding(labels);
        var mods = var.BlockModulations(cond);
        using var cache = var.NewCache();
        var x = var.StartInput(cond);
        var fHat = zeros(2, 4, 5, 5);
        for (int si = 0; si < pns.Length; si++)
        {
            var (begin, end) = var.ScaleRanges[si];
            var cached = var.CachedStep(x, mods, cond, cache);
            double diff = (cached - full.narrow(1, begin, end - begin)).abs().max().item<float>();
            Assert.True(diff < 2e-5, $"scale {si}: {diff:E2}");
            fHat = vae.Quantizer.AddScale(si, fHat, vae.Quantizer.EmbedTokens(idx[si]));
            if (si < pns.Length - 1) x = var.ScaleInput(vae.Quantizer.DownToScale(fHat, si + 1), si + 1);
        }
        Assert.Equal(var.Config.TotalTokens, cache.Length);
        Assert.True(full.std().item<float>() > 0.1);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void PrefillFillsTheCacheThatCachedStepsWouldHaveBuilt(bool l2)
    {
        manual_seed(8);
        int[] pns = Scales;
        var (vae, var) = SmallPair(l2);
        using var vaeOwner = vae;
        using var varOwner = var;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var idx = pns.Select(pn => randint(0, 50, new long[] { 2, pn * pn })).ToArray();
        var xBLCv = vae.Quantizer.TokensToVarInput(idx);
        var cond = var.ClassEmbedding(tensor(new long[] { 1, 3 }));
        var mods = var.BlockModulations(cond);
        for (int last = 0; last < pns.Length - 1; last++)
        {
            // Cached steps over scales 0..last+1, against a prefill of 0..last followed by one cached step.
            using var stepped = var.NewCache();
            using var prefilled = var.NewCache();
            Tensor? stepLogits = null;
            for (int si = 0; si <= last + 1; si++)
            {
                var (b, e) = var.ScaleRanges[si];
                var x = si == 0 ? var.StartInput(cond) : var.ScaleInput(xBLCv.narrow(1, b - 1, e - b), si);
                var logits = var.CachedStep(x, mods, cond, stepped);
                if (si == last) stepLogits = logits;
                if (si == last + 1)
                {
                    var pre = var.Prefill(cond, mods, xBLCv.narrow(1, 0, var.ScaleRanges[last].End - 1), last, prefilled);
                    double preDiff = (pre - stepLogits!).abs().max().item<float>();
                    Assert.True(preDiff < 1e-4, $"prefill to scale {last}: {preDiff:E2}");
                    Assert.Equal(stepped.Length - (e - b), prefilled.Length);
                    var next = var.CachedStep(x, mods, cond, prefilled);
                    double nextDiff = (next - logits).abs().max().item<float>();
                    Assert.True(nextDiff < 1e-4, $"cached step after a prefill to scale {last}: {nextDiff:E2}");
                }
            }
            Assert.True(stepLogits!.std().item<float>() > 0.1);
        }
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
