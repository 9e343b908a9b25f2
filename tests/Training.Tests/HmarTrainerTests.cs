using Var.Model.Checkpoints;
using Var.Model.Transformer;
using Var.Training.Generator;
using Var.Training.Tokenizer;

namespace Var.Training.Tests;

public class HmarTrainerTests
{
    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.dtype == b.dtype && a.eq(b).all().item<bool>();

    private static HmarConfig TinyConfig() =>
        new HmarTrainOptions { Depth = 2, TailDepth = 1, Width = 32, Heads = 2 }.ConfigFor(TrainingStepTests.TinyVqvae.VocabSize, TrainingStepTests.TinyVqvae.ZChannels, TrainingStepTests.TinyVqvae.PatchNums);

    [Fact]
    public void LogNormalScaleWeightsAreTheReferenceOnes()
    {
        // hmar.md §2: the scale totals at 256².
        var w = HmarTrainer.ScaleWeights([1, 2, 3, 4, 5, 6, 8, 10, 13, 16]);
        Assert.Equal(new[] { .025, .064, .115, .138, .140, .133, .121, .105, .088, .071 }, w.Select(x => Math.Round(x, 3)));
        Assert.Equal(1.0, w.Sum(), 12);
        using var perToken = HmarTrainer.ScaleWeightsPerToken([1, 2, 3, 4, 6, 8]);
        Assert.Equal(130, perToken.shape[0]);
        Assert.Equal(1.0, perToken.sum().item<float>(), 5);
        // Scale i contributes w_i in total: its pn² tokens share it.
        var small = HmarTrainer.ScaleWeights([1, 2, 3, 4, 6, 8]);
        Assert.Equal(small[2], perToken.narrow(0, 5, 9).sum().item<float>(), 5);
    }

    [Fact]
    public void MaskPositionsNeverMaskTheFirstScaleAndMaskCeilOfTheRatio()
    {
        int[] patchNums = [1, 2, 3, 4, 6, 8];
        manual_seed(1);
        foreach (double ratio in new[] { 0.0, 0.01, 0.3, 0.5, 0.999, 1.0 })
        {
            using var maskedL = HmarTrainer.MaskPositions(patchNums, ratio);
            var masked = maskedL.data<bool>().ToArray();
            Assert.Equal(130, masked.Length);
            Assert.False(masked[0], $"scale 0 masked at ratio {ratio}");
            int at = 1;
            for (int si = 1; si < patchNums.Length; si++)
            {
                int l = patchNums[si] * patchNums[si];
                int want = Math.Clamp((int)Math.Ceiling(l * ratio - 1e-9), 1, l);
                Assert.Equal(want, masked.Skip(at).Take(l).Count(m => m));
                at += l;
            }
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => HmarTrainer.MaskPositions(patchNums, 1.5));
    }

    [Fact]
    public void BothLossesAreFiniteAndFallOnAFixedBatch()
    {
        using var scope = NewDisposeScope();
        manual_seed(6);
        var vae = TokenizerTrainer.Build(TrainingStepTests.TinyVqvae);
        vae.eval();
        var config = TinyConfig();
        var model = HmarTrainer.Build(config);
        model.train();
        var tokens = randint(0, TrainingStepTests.TinyVqvae.VocabSize, [4, TrainingStepTests.TinyVqvae.TotalTokens], dtype: ScalarType.Int64);
        var labels = tensor(new long[] { 0, 1, 2, 3 });
        var weights = HmarTrainer.ScaleWeightsPerToken(config.Backbone.PatchNums);
        using (var optimizer = HmarTrainer.CreateOptimizer(model, 0.05))
        {
            var losses = Enumerable.Range(0, 10).Select(_ =>
            {
                using var step = NewDisposeScope();
                optimizer.ZeroGrad();
                var loss = HmarTrainer.NextScaleLoss(model, vae, tokens, labels, weights, 0);
                loss.backward();
                optimizer.Step(1e-2);
                return (double)loss.item<float>();
            }).ToArray();
            Assert.All(losses, l => Assert.True(double.IsFinite(l)));
            Assert.InRange(losses[0], Math.Log(TrainingStepTests.TinyVqvae.VocabSize) - 0.5, Math.Log(TrainingStepTests.TinyVqvae.VocabSize) + 0.5);
            Assert.True(losses[^1] < losses[0] - 0.1, $"next-scale loss {losses[0]} → {losses[^1]}");
        }
        HmarTrainer.StartMaskedPhase(model);
        using (var optimizer = HmarTrainer.CreateOptimizer(model, 0.05))
        {
            manual_seed(7);
            var maskedL = HmarTrainer.MaskPositions(config.Backbone.PatchNums, 0.5);
            var losses = Enumerable.Range(0, 10).Select(_ =>
            {
                using var step = NewDisposeScope();
                optimizer.ZeroGrad();
                var loss = HmarTrainer.MaskedLoss(model, vae, tokens, labels, maskedL, 0);
                loss.backward();
                optimizer.Step(1e-2);
                return (double)loss.item<float>();
            }).ToArray();
            Assert.All(losses, l => Assert.True(double.IsFinite(l)));
            Assert.True(losses[^1] < losses[0] - 0.1, $"masked loss {losses[0]} → {losses[^1]}");
        }
    }

    [Fact]
    public void TheMaskedPhaseStartsFromTheNextScaleTailAndTrainsOnlyTheMaskedParts()
    {
        using var scope = NewDisposeScope();
        manual_seed(8);
        var model = HmarTrainer.Build(TinyConfig());
        HmarTrainer.StartMaskedPhase(model);
        var sd = model.state_dict();
        Assert.True(Same(sd["mask_blocks.0.attn.mat_qkv.weight"], sd["ns_blocks.0.attn.mat_qkv.weight"]));
        Assert.True(Same(sd["mask_head.weight"], sd["ns_head.weight"]));
        Assert.True(Same(sd["mask_head_nm.ada_lin.1.weight"], sd["ns_head_nm.ada_lin.1.weight"]));
        using var optimizer = HmarTrainer.CreateOptimizer(model, 0.05);
        var trained = model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => p.name).ToList();
        Assert.NotEmpty(trained);
        Assert.All(trained, n => Assert.Contains(HmarTrainer.MaskedTrainable, prefix => n.StartsWith(prefix, StringComparison.Ordinal)));
        Assert.Contains("mask_embed.weight", trained);
        Assert.Equal(trained.Count, optimizer.Parameters.Count());
    }

    [Fact]
    public void VarWeightsInitialiseTrunkBothTailsAndBothHeads()
    {
        using var scope = NewDisposeScope();
        var config = TinyConfig();
        manual_seed(9);
        var var = VarTrainer.Build(config.Backbone);
        string file = Path.Combine(Path.GetTempPath(), $"hmar-init-{Guid.NewGuid():N}.safetensors");
        StateDict.WriteSafetensors(file, var.state_dict().Select(kv => (kv.Key, kv.Value)));
        var hmar = HmarTrainer.Build(config);
        HmarTrainer.LoadInit(hmar, file);
        var v = var.state_dict();
        var h = hmar.state_dict();
        Assert.True(Same(h["base_blocks.0.ffn.fc1.weight"], v["blocks.0.ffn.fc1.weight"]));
        Assert.True(Same(h["ns_blocks.0.ffn.fc1.weight"], v["blocks.1.ffn.fc1.weight"]));
        Assert.True(Same(h["mask_blocks.0.ffn.fc1.weight"], v["blocks.1.ffn.fc1.weight"]));
        Assert.True(Same(h["ns_head.weight"], v["head.weight"]));
        Assert.True(Same(h["mask_head.weight"], v["head.weight"]));
        Assert.True(Same(h["word_embed_bias"], v["word_embed.bias"]));
        Assert.True(Same(h["pos_1LC"], v["pos_1LC"]));
        // The block-diagonal mask stays HMAR's own.
        Assert.False(Same(h["attn_bias_for_masking"], v["attn_bias_for_masking"]));
        var deeper = VarTrainer.Build(config.Backbone with { Depth = 3 });
        StateDict.WriteSafetensors(file, deeper.state_dict().Select(kv => (kv.Key, kv.Value)));
        Assert.Contains("3 blocks", Assert.Throws<ArgumentException>(() => HmarTrainer.LoadInit(hmar, file)).Message);
        File.Delete(file);
    }

    // With an EMA the checkpoint carries the average and each phase exports it, so the same holds for the averages.
    [Theory]
    [InlineData(0.0)]
    [InlineData(0.9)]
    public void RunsResumeInEitherPhaseToTheSameWeightsAndThePhasesTrainWhatTheyShould(double emaDecay)
    {
        string data = TestData.WriteSynthetic(trainCount: 64, testCount: 16);
        string runs = Path.Combine(Path.GetTempPath(), "hmar-runs-" + Guid.NewGuid().ToString("N"));
        string tokenizer = TestData.TrainTinyTokenizer(runs, data);
        HmarTrainOptions Options(string name, long maskSteps, bool resume) => new()
        {
            Name = name,
            RunsDirectory = runs,
            DataDirectory = data,
            Steps = 3,
            MaskSteps = maskSteps,
            MaskWarmupSteps = 1,
            BatchSize = 8,
            WarmupSteps = 1,
            LogEvery = 1,
            EvalImages = 8,
            Depth = 2,
            TailDepth = 1,
            Width = 32,
            Heads = 2,
            Resume = resume,
            TokenizerWeights = tokenizer,
            TokenCacheDirectory = Path.Combine(runs, "tokens"),
            EmaDecay = emaDecay,
        };
        var nextScaleOnly = HmarTrainer.Run(Options("next-scale-only", 0, false), null, CancellationToken.None);
        Assert.True(nextScaleOnly.NextScale.Finished);
        Assert.Null(nextScaleOnly.Masked);
        Assert.True(double.IsFinite(nextScaleOnly.TestLoss));
        var straight = HmarTrainer.Run(Options("straight", 3, false), null, CancellationToken.None);
        Assert.True(straight.Masked!.Finished);
        Assert.True(double.IsFinite(straight.MaskedTestLoss));

        using (var cts = new CancellationTokenSource())
        {
            var paused = HmarTrainer.Run(Options("interrupted", 3, false), line => { if (line.Contains("[interrupted] step 2/3")) cts.Cancel(); }, cts.Token);
            Assert.Equal(2, paused.NextScale.Step);
            Assert.Null(paused.Masked);
        }
        using (var cts = new CancellationTokenSource())
        {
            var paused = HmarTrainer.Run(Options("interrupted", 3, true), line => { if (line.Contains("[interrupted/masked] step 1/3")) cts.Cancel(); }, cts.Token);
            Assert.True(paused.NextScale.Finished);
            Assert.Equal(1, paused.Masked!.Step);
        }
        var done = HmarTrainer.Run(Options("interrupted", 3, true), null, CancellationToken.None);
        Assert.True(done.Masked!.Finished);
        Assert.Equal(3, done.Masked.Step);
        string log = File.ReadAllText(Path.Combine(runs, "interrupted", "train.log"));
        Assert.Contains("resumed next-scale training", log);
        Assert.Contains("resumed masked training", log);

        using var a = StateDict.Read(Path.Combine(runs, "straight", "model.safetensors"));
        using var b = StateDict.Read(Path.Combine(runs, "interrupted", "model.safetensors"));
        using var p1 = StateDict.Read(Path.Combine(runs, "next-scale-only", "model.safetensors"));
        Assert.Equal(a.Tensors.Keys.Order(), b.Tensors.Keys.Order());
        foreach (var (key, value) in a.Tensors) Assert.True(Same(value, b.Tensors[key]), $"{key} differs after resuming");
        // Phase 2 leaves the trunk, the embeddings and the next-scale tail as phase 1 left them, and trains the masked parts.
        foreach (var (key, value) in p1.Tensors.Where(kv => !HmarTrainer.MaskedTrainable.Any(p => kv.Key.StartsWith(p, StringComparison.Ordinal))))
            Assert.True(Same(value, a.Tensors[key]), $"{key} changed in the masked phase");
        Assert.False(Same(a.Tensors["mask_blocks.0.ffn.fc1.weight"], a.Tensors["ns_blocks.0.ffn.fc1.weight"]), "the masked tail did not train");
        Assert.False(Same(a.Tensors["mask_embed.weight"], p1.Tensors["mask_embed.weight"]), "mask_embed did not train");

        var summary = Var.Training.Runs.RunSummary.Read(Path.Combine(runs, "straight", "summary.json"));
        Assert.Equal("hmar", summary.Kind);
        Assert.True((bool)summary.Provenance["finished"]!);
        Assert.Equal(6, (long)summary.Provenance["steps"]!);
        Assert.NotNull(summary.Quality["masked_test_cross_entropy"]);
        // The export is the average where there is one: the checkpoint's trained weights differ from it.
        using (var ckpt = StateDict.Read(Options("straight", 3, false).CheckpointPath))
        {
            bool same = Same(ckpt.Tensors["model.mask_embed.weight"], a.Tensors["mask_embed.weight"]);
            Assert.Equal(emaDecay == 0, same);
            if (emaDecay > 0) Assert.Equal(emaDecay, (double)summary.Provenance["ema_decay"]!);
        }
        using var loaded = Var.Model.Checkpoints.ModelLoader.LoadOfficialHmar(Path.Combine(runs, "straight", "model.safetensors"));
        Assert.Equal(1, loaded.Config.TailDepth);
    }
}
