using System.Globalization;
using System.Text.Json.Nodes;
using Var.Model.Checkpoints;
using Var.Model.Transformer;
using Var.Model.Vqvae;
using Var.Training.Data;
using Var.Training.Optimization;
using Var.Training.Runs;

namespace Var.Training.Generator;

/// <summary>
/// Two-phase HMAR training over a frozen tokenizer (hmar.md §2), on the shared step loop, checkpoints and token cache.
/// Phase 1 (next-scale): VAR's teacher-forced input, block-diagonal attention (every scale attends only to itself),
/// per-token cross-entropy weighted by the log-normal scale weights, summed over the tokens, mean over the batch.
/// Phase 2 (masked): the masked tail and head start as copies of the next-scale ones; everything else is frozen (the
/// gradient still flows through the trunk to <c>mask_embed</c>); one mask ratio p ~ U[0, 1) per step, ⌈pn²·p⌉
/// positions of every scale but the first masked (the same for the whole batch), cross-entropy on the masked tokens only.
/// One run folder holds both phases; its checkpoint says which one it belongs to, so <c>--resume</c> continues either.
/// </summary>
public static class HmarTrainer
{
    private const string NextScalePhase = "next-scale";
    private const string MaskedPhase = "masked";

    /// <summary>Prefixes of the parameters the masked phase trains (hmar.md §2 phase 2).</summary>
    public static readonly string[] MaskedTrainable = ["mask_blocks.", "mask_head_nm.", "mask_head.", "mask_embed."];

    /// <summary>What a run reached: each phase's progress and the latest test cross-entropies.</summary>
    public sealed record Result(RunProgress NextScale, RunProgress? Masked, double TestLoss, double MaskedTestLoss);

    private sealed class State
    {
        public RunProgress NextScale = new(0, 0, 0, false);
        public RunProgress? Masked;
        public double TestLoss = double.NaN;
        public double[] TestPerScale = [];
        public double MaskedTestLoss = double.NaN;
        public double[] MaskedPerScale = [];
    }

    /// <summary>Runs (or resumes) both phases within the options' step counts and minutes.</summary>
    public static Result Run(HmarTrainOptions options, Action<string>? log, CancellationToken cancel)
    {
        if (options.Threads > 0) set_num_threads(options.Threads);
        using var runLog = new RunLog(options.LogPath, log);
        using var vae = VarTrainer.LoadTokenizer(options.TokenizerWeights);
        var train = FashionMnist.Load("train", options.DataDirectory);
        var test = FashionMnist.Load("test", options.DataDirectory);
        var trainTokens = TokenCache.LoadOrBuild(vae, options.TokenizerWeights, train, options.TokenCacheDirectory, runLog.Line);
        var testTokens = TokenCache.LoadOrBuild(vae, options.TokenizerWeights, test, options.TokenCacheDirectory, runLog.Line);
        var config = options.ConfigFor(vae.Config.VocabSize, vae.Config.ZChannels, vae.Config.PatchNums);
        var clock = System.Diagnostics.Stopwatch.StartNew();

        manual_seed(options.Seed);
        using var model = Build(config);
        model.train();
        var state = new State();
        string phase = NextScalePhase;
        IReadOnlyDictionary<string, string>? resumed = null;
        if (options.Resume && File.Exists(options.CheckpointPath))
        {
            using (var peek = StateDict.Read(options.CheckpointPath)) resumed = new Dictionary<string, string>(peek.Metadata);
            phase = resumed.GetValueOrDefault("phase", NextScalePhase);
        }
        else if (options.InitWeights is { } init)
        {
            LoadInit(model, init);
            runLog.Line($"[{options.Name}] initialised from {init}");
        }
        runLog.Line($"[{options.Name}] HMAR {RunSummary.CountParameters(model):N0} params, config {ComponentEntry.ConfigFrom(config).ToJsonString()}");

        var sampler = new EpochSampler(train.Count, options.BatchSize, options.Seed);
        var evalIndices = Enumerable.Range(0, Math.Min(options.EvalImages, test.Count)).ToArray();
        var weightsL = ScaleWeightsPerToken(config.Backbone.PatchNums);

        if (phase == NextScalePhase)
        {
            using var optimizer = CreateOptimizer(model, options.WeightDecay);
            using var ema = options.EmaDecay > 0 ? new EmaWeights(model, options.EmaDecay) : null;
            var start = resumed is null ? new RunProgress(0, 0, 0, false) : Resume(options, model, optimizer, ema, runLog, NextScalePhase);
            runLog.Line($"[{options.Name}] phase 1: next-scale, block-diagonal attention, scale weights [{string.Join(", ", ScaleWeights(config.Backbone.PatchNums).Select(w => w.ToString("F3", CultureInfo.InvariantCulture)))}]");

            double Step(long step, double lr)
            {
                using var scope = NewDisposeScope();
                StepSeed.Apply(options.Seed, step);
                var idx = sampler.Batch(step);
                optimizer.ZeroGrad();
                return Update(optimizer, NextScaleLoss(model, vae, trainTokens.Batch(idx), train.LabelBatch(idx), weightsL, options.ClassDropout), lr, options.GradClip, ema);
            }

            string Evaluate(long step)
            {
                using (ema?.Swapped()) (state.TestLoss, state.TestPerScale) = TestLoss(model, vae, testTokens, test, evalIndices);
                return (ema is null ? "" : "EMA ") + FormatLoss("test CE", state.TestLoss, state.TestPerScale);
            }

            void Save(RunProgress p)
            {
                state.NextScale = p;
                var meta = new Dictionary<string, string> { ["phase"] = NextScalePhase };
                new RunCheckpoint(p.Step, p.SamplesSeen, p.WallSeconds, options.Seed).Save(options.CheckpointPath, model, optimizer, ema?.StateItems(EmaWeights.CheckpointPrefix), meta);
                using (ema?.Swapped()) Export(options, model, config, state);
            }

            state.NextScale = TrainingLoop.Run(options, start, Step, Save, Evaluate, runLog, cancel);
            runLog.Line($"[{options.Name}] next-scale phase: {Evaluate(state.NextScale.Step)}");
            using (ema?.Swapped()) Export(options, model, config, state);
            if (!state.NextScale.Finished || options.MaskSteps <= 0 || cancel.IsCancellationRequested)
                return new Result(state.NextScale, null, state.TestLoss, double.NaN);
            // The masked phase starts from (and keeps frozen) the averaged trunk, the weights phase 1 exported.
            ema?.Apply();
            StartMaskedPhase(model);
            runLog.Line($"[{options.Name}] phase 2: the masked tail and head start as copies of the next-scale ones; trunk, embeddings and next-scale tail frozen");
        }
        else
        {
            FreezeForMaskedPhase(model);
            state.NextScale = new RunProgress(Long(resumed!, "next_scale_steps"), Long(resumed!, "next_scale_samples"),
                double.Parse(resumed!["next_scale_wall_seconds"], CultureInfo.InvariantCulture), true);
            state.TestLoss = double.Parse(resumed!["next_scale_test_ce"], CultureInfo.InvariantCulture);
            state.TestPerScale = resumed!["next_scale_test_ce_per_scale"].Split(',', StringSplitOptions.RemoveEmptyEntries)
                .Select(x => double.Parse(x, CultureInfo.InvariantCulture)).ToArray();
        }

        double minutesLeft = options.Minutes > 0 ? options.Minutes - clock.Elapsed.TotalMinutes : 0;
        if (options.Minutes > 0 && minutesLeft <= 0)
        {
            runLog.Line($"[{options.Name}] time budget of {options.Minutes} min spent before the masked phase");
            return new Result(state.NextScale, null, state.TestLoss, double.NaN);
        }
        var maskOptions = options.MaskPhase(Math.Max(0, minutesLeft));
        using (var optimizer = CreateOptimizer(model, options.WeightDecay))
        using (var ema = options.EmaDecay > 0 ? new EmaWeights(model, options.EmaDecay) : null)
        {
            var start = phase == MaskedPhase ? Resume(options, model, optimizer, ema, runLog, MaskedPhase) : new RunProgress(0, 0, 0, false);
            const long stepSalt = 1L << 40;

            double Step(long step, double lr)
            {
                using var scope = NewDisposeScope();
                StepSeed.Apply(options.Seed, stepSalt + step);
                var idx = sampler.Batch(state.NextScale.Step + step);
                optimizer.ZeroGrad();
                double ratio = rand(1, dtype: ScalarType.Float64).item<double>();
                var maskedL = MaskPositions(config.Backbone.PatchNums, ratio);
                return Update(optimizer, MaskedLoss(model, vae, trainTokens.Batch(idx), train.LabelBatch(idx), maskedL, options.ClassDropout), lr, options.GradClip, ema);
            }

            string Evaluate(long step)
            {
                using (ema?.Swapped()) (state.MaskedTestLoss, state.MaskedPerScale) = MaskedTestLoss(model, vae, testTokens, test, evalIndices, options.EvalMaskRatio);
                return (ema is null ? "" : "EMA ") + FormatLoss($"masked test CE at ratio {options.EvalMaskRatio}", state.MaskedTestLoss, state.MaskedPerScale);
            }

            void Save(RunProgress p)
            {
                state.Masked = p;
                var meta = new Dictionary<string, string>
                {
                    ["phase"] = MaskedPhase,
                    ["next_scale_steps"] = state.NextScale.Step.ToString(CultureInfo.InvariantCulture),
                    ["next_scale_samples"] = state.NextScale.SamplesSeen.ToString(CultureInfo.InvariantCulture),
                    ["next_scale_wall_seconds"] = state.NextScale.WallSeconds.ToString("R", CultureInfo.InvariantCulture),
                    ["next_scale_test_ce"] = state.TestLoss.ToString("R", CultureInfo.InvariantCulture),
                    ["next_scale_test_ce_per_scale"] = string.Join(",", state.TestPerScale.Select(x => x.ToString("R", CultureInfo.InvariantCulture))),
                };
                new RunCheckpoint(p.Step, p.SamplesSeen, p.WallSeconds, options.Seed).Save(options.CheckpointPath, model, optimizer, ema?.StateItems(EmaWeights.CheckpointPrefix), meta);
                using (ema?.Swapped()) Export(options, model, config, state);
            }

            state.Masked = TrainingLoop.Run(maskOptions, start, Step, Save, Evaluate, runLog, cancel);
            // What follows evaluates and exports the averaged masked tail and head.
            ema?.Apply();
        }
        (state.MaskedTestLoss, state.MaskedPerScale) = MaskedTestLoss(model, vae, testTokens, test, evalIndices, options.EvalMaskRatio);
        runLog.Line($"[{options.Name}] final: {FormatLoss("test CE", state.TestLoss, state.TestPerScale)}; {FormatLoss($"masked test CE at ratio {options.EvalMaskRatio}", state.MaskedTestLoss, state.MaskedPerScale)}");
        Export(options, model, config, state);
        return new Result(state.NextScale, state.Masked, state.TestLoss, state.MaskedTestLoss);
    }

    /// <summary>An HMAR initialised for training from scratch (the VAR recipe of <see cref="VarTrainer.Build"/>).</summary>
    public static HmarTransformer Build(HmarConfig config)
    {
        var model = new HmarTransformer(config);
        model.InitWeights(Math.Sqrt(1.0 / (3 * config.Backbone.EmbedDim)), 0.5, 1e-3, 0.02);
        return model;
    }

    /// <summary>The trainer's optimiser over the parameters of <paramref name="model"/> that require gradients.</summary>
    public static NamedAdamW CreateOptimizer(HmarTransformer model, double weightDecay) =>
        new(model.named_parameters(), VarTrainer.Decays, 0.9, 0.95, weightDecay);

    /// <summary>
    /// Log-normal scale weights (hmar.md §2, "lognorm"): the standard normal density at the standardised reversed patch
    /// sizes, normalised to sum to 1; for 256² they are 0.025 … 0.140 … 0.071.
    /// </summary>
    public static double[] ScaleWeights(IReadOnlyList<int> patchNums)
    {
        int k = patchNums.Count;
        if (k == 1) return [1.0];
        double last = patchNums[^1];
        var r = patchNums.Select(p => p / last).ToArray();
        double mean = r.Average();
        double sd = Math.Sqrt(r.Sum(x => (x - mean) * (x - mean)) / (k - 1));
        var density = Enumerable.Range(0, k).Select(i => (patchNums[k - 1 - i] / last - mean) / sd).Select(z => Math.Exp(-z * z / 2)).ToArray();
        double sum = density.Sum();
        return density.Select(d => d / sum).ToArray();
    }

    /// <summary>Per-token weights (L,) float32: scale i's weight divided by its pn_i² tokens, so scale i contributes w_i.</summary>
    public static Tensor ScaleWeightsPerToken(IReadOnlyList<int> patchNums)
    {
        var w = ScaleWeights(patchNums);
        var perToken = patchNums.SelectMany((p, si) => Enumerable.Repeat((float)(w[si] / (p * p)), p * p)).ToArray();
        return tensor(perToken);
    }

    /// <summary>
    /// Phase-1 loss (hmar.md §2): per-token cross-entropy of the teacher-forced next-scale logits (block-diagonal
    /// attention) × <paramref name="weightsL"/>, summed over the L tokens, mean over the batch. Labels are replaced by
    /// the unconditional class with probability <paramref name="classDropout"/> (torch's global generator).
    /// </summary>
    public static Tensor NextScaleLoss(HmarTransformer model, MultiScaleVqvae vae, Tensor tokensBL, Tensor labelB, Tensor weightsL, double classDropout)
    {
        using var scope = NewDisposeScope();
        Tensor xBLCv;
        using (no_grad()) xBLCv = vae.Quantizer.TokensToVarInput(TokenCache.PerScale(tokensBL, vae.Config.PatchNums));
        var logits = model.forward(DropLabels(model, labelB, classDropout), xBLCv);
        long b = logits.shape[0], l = logits.shape[1];
        var ce = nn.functional.cross_entropy(logits.view(b * l, -1), tokensBL.view(-1), reduction: nn.Reduction.None).view(b, l);
        return ce.mul(weightsL.to(ce.dtype)).sum(1).mean().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The masked positions of one phase-2 step (hmar.md §2): (L,) bool with ⌈pn²·<paramref name="ratio"/>⌉ (at least
    /// one) positions of every scale but the first, drawn without replacement from torch's global generator; scale 0
    /// is never masked.
    /// </summary>
    public static Tensor MaskPositions(IReadOnlyList<int> patchNums, double ratio)
    {
        if (ratio < 0 || ratio > 1) throw new ArgumentOutOfRangeException(nameof(ratio), ratio, "the mask ratio must be in [0, 1]");
        using var scope = NewDisposeScope();
        var parts = new List<Tensor> { zeros(patchNums[0] * patchNums[0], dtype: ScalarType.Bool) };
        for (int si = 1; si < patchNums.Count; si++)
        {
            int l = patchNums[si] * patchNums[si];
            int n = Math.Clamp((int)Math.Ceiling(l * ratio - 1e-9), 1, l);
            var pick = multinomial(ones(l), n, replacement: false);
            parts.Add(zeros(l, dtype: ScalarType.Bool).index_fill_(0, pick, true));
        }
        return cat(parts, 0).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Phase-2 loss (hmar.md §2): the mask head's teacher-forced logits on [visible tokens' own-scale input | mask_embed
    /// at maskedL (L,) bool] plus the next-scale input; cross-entropy on the masked positions only, plain mean.
    /// </summary>
    public static Tensor MaskedLoss(HmarTransformer model, MultiScaleVqvae vae, Tensor tokensBL, Tensor labelB, Tensor maskedL, double classDropout) =>
        MaskedLoss(model, vae, tokensBL, labelB, maskedL, classDropout, out _);

    private static Tensor MaskedLoss(HmarTransformer model, MultiScaleVqvae vae, Tensor tokensBL, Tensor labelB, Tensor maskedL, double classDropout, out Tensor ceBL)
    {
        using var scope = NewDisposeScope();
        Tensor xBLCv, ownBLCv;
        using (no_grad())
        {
            var perScale = TokenCache.PerScale(tokensBL, vae.Config.PatchNums);
            xBLCv = vae.Quantizer.TokensToVarInput(perScale);
            ownBLCv = vae.Quantizer.TokensToMaskInput(perScale);
        }
        var logits = model.MaskedForward(DropLabels(model, labelB, classDropout), xBLCv, ownBLCv, maskedL);
        long b = logits.shape[0], l = logits.shape[1];
        var ce = nn.functional.cross_entropy(logits.view(b * l, -1), tokensBL.view(-1), reduction: nn.Reduction.None).view(b, l);
        var weight = maskedL.to(ce.dtype).unsqueeze(0);
        var loss = ce.mul(weight).sum().div(weight.sum().mul(b));
        ceBL = ce.detach().MoveToOuterDisposeScope();
        return loss.MoveToOuterDisposeScope();
    }

    /// <summary>Copies the next-scale tail and head into the masked ones and freezes everything but them (hmar.md §2 phase 2).</summary>
    public static void StartMaskedPhase(HmarTransformer model)
    {
        using (no_grad())
        {
            var sd = model.state_dict();
            foreach (var (key, value) in sd)
            {
                string? source = key.StartsWith("mask_blocks.", StringComparison.Ordinal) ? "ns_blocks." + key["mask_blocks.".Length..]
                    : key.StartsWith("mask_head_nm.", StringComparison.Ordinal) ? "ns_head_nm." + key["mask_head_nm.".Length..]
                    : key.StartsWith("mask_head.", StringComparison.Ordinal) ? "ns_head." + key["mask_head.".Length..]
                    : null;
                if (source is not null) value.copy_(sd[source]);
            }
        }
        FreezeForMaskedPhase(model);
    }

    /// <summary>Leaves gradients on the masked tail, the masked head and mask_embed only.</summary>
    public static void FreezeForMaskedPhase(HmarTransformer model)
    {
        foreach (var (name, p) in model.named_parameters())
        {
            p.requires_grad = MaskedTrainable.Any(prefix => name.StartsWith(prefix, StringComparison.Ordinal));
            if (!p.requires_grad && p.grad is not null) p.grad = null;
        }
    }

    /// <summary>
    /// Loads warm-start weights: an HMAR file of the same architecture as is, or a VAR file (same depth and width)
    /// mapped onto the HMAR layout (<see cref="VarToHmarKeys"/>). Every HMAR key must be covered and every shape match.
    /// </summary>
    public static void LoadInit(HmarTransformer model, string file)
    {
        using var sd = StateDict.Read(file);
        if (ConfigDetector.IsHmar(sd))
        {
            sd.LoadInto(model);
            return;
        }
        var own = model.state_dict();
        var map = VarToHmarKeys(model.Config, sd.Tensors.Keys);
        using var noGrad = no_grad();
        foreach (var (key, target) in own)
        {
            if (!map.TryGetValue(key, out var source)) continue;
            var src = sd.Tensors[source];
            if (!src.shape.SequenceEqual(target.shape))
                throw new CheckpointException(file, $"VAR key '{source}' has shape [{string.Join(",", src.shape)}], HMAR's '{key}' expects [{string.Join(",", target.shape)}]");
            target.copy_(src);
        }
        var uncovered = own.Keys.Where(k => !map.ContainsKey(k) && !k.StartsWith("mask_embed.", StringComparison.Ordinal) && k is not "attn_bias_for_masking" and not "lvl_1L").ToList();
        if (uncovered.Count > 0) throw new CheckpointException(file, $"a VAR file does not cover HMAR key '{uncovered[0]}'");
    }

    /// <summary>
    /// The HMAR key each VAR key initialises: blocks.i → base_blocks.i (i &lt; trunk depth) or ns_blocks and mask_blocks
    /// .(i − trunk depth); head(_nm) → ns_head(_nm) and mask_head(_nm); word_embed.bias → word_embed_bias; the embeddings
    /// keep their names. VAR's block-causal mask buffer and the level buffer are not copied. HMAR key → VAR key.
    /// </summary>
    public static Dictionary<string, string> VarToHmarKeys(HmarConfig config, IEnumerable<string> varKeys)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        int trunk = config.BaseDepth;
        var keys = varKeys.ToList();
        int depth = keys.Where(k => k.StartsWith("blocks.", StringComparison.Ordinal)).Select(k => int.Parse(k.Split('.')[1], CultureInfo.InvariantCulture)).DefaultIfEmpty(-1).Max() + 1;
        if (depth != config.Backbone.Depth)
            throw new ArgumentException($"the VAR file has {depth} blocks; the HMAR backbone has {config.Backbone.Depth} (trunk {trunk} + tail {config.TailDepth})");
        foreach (var key in keys)
        {
            if (key.StartsWith("blocks.", StringComparison.Ordinal))
            {
                var parts = key.Split('.', 3);
                int i = int.Parse(parts[1], CultureInfo.InvariantCulture);
                if (i < trunk) map[$"base_blocks.{i}.{parts[2]}"] = key;
                else
                {
                    map[$"ns_blocks.{i - trunk}.{parts[2]}"] = key;
                    map[$"mask_blocks.{i - trunk}.{parts[2]}"] = key;
                }
            }
            else if (key.StartsWith("head_nm.", StringComparison.Ordinal) || key.StartsWith("head.", StringComparison.Ordinal))
            {
                map["ns_" + key] = key;
                map["mask_" + key] = key;
            }
            else if (key == "word_embed.bias") map["word_embed_bias"] = key;
            else if (key is "word_embed.weight" or "class_emb.weight" or "lvl_embed.weight" or "pos_start" or "pos_1LC") map[key] = key;
        }
        return map;
    }

    /// <summary>Teacher-forced next-scale test cross-entropy (no class dropout, eval mode), overall and per scale.</summary>
    public static (double Mean, double[] PerScale) TestLoss(HmarTransformer model, MultiScaleVqvae vae, TokenCache tokens, FashionMnist data, int[] indices) =>
        Measure(model, vae, indices, idx =>
        {
            var tokensBL = tokens.Batch(idx);
            var xBLCv = vae.Quantizer.TokensToVarInput(TokenCache.PerScale(tokensBL, vae.Config.PatchNums));
            var logits = model.forward(data.LabelBatch(idx), xBLCv);
            var ce = nn.functional.cross_entropy(logits.view(-1, logits.shape[2]), tokensBL.view(-1), reduction: nn.Reduction.None).view(idx.Length, -1);
            return (ce, ones(ce.shape[1], dtype: ScalarType.Bool));
        });

    /// <summary>
    /// Masked-prediction test cross-entropy at a fixed mask ratio (positions drawn from a fixed seed; eval mode), over
    /// the masked tokens: overall and per scale (scale 0, never masked, reports NaN).
    /// </summary>
    public static (double Mean, double[] PerScale) MaskedTestLoss(HmarTransformer model, MultiScaleVqvae vae, TokenCache tokens, FashionMnist data, int[] indices, double ratio)
    {
        manual_seed(12345);
        using var maskedL = MaskPositions(model.Backbone.PatchNums, ratio);
        return Measure(model, vae, indices, idx =>
        {
            MaskedLoss(model, vae, tokens.Batch(idx), data.LabelBatch(idx), maskedL, 0, out var ce);
            return (ce, maskedL);
        });
    }

    private static (double Mean, double[] PerScale) Measure(HmarTransformer model, MultiScaleVqvae vae, int[] indices, Func<int[], (Tensor CeBL, Tensor CountedL)> ce)
    {
        bool wasTraining = model.training;
        model.eval();
        var patchNums = vae.Config.PatchNums;
        var sums = new double[patchNums.Length];
        var counts = new double[patchNums.Length];
        try
        {
            for (int at = 0; at < indices.Length; at += 250)
            {
                using var scope = NewDisposeScope();
                using var noGrad = no_grad();
                var idx = indices.AsSpan(at, Math.Min(250, indices.Length - at)).ToArray();
                var (ceBL, countedL) = ce(idx);
                var counted = countedL.to(ScalarType.Float32);
                long begin = 0;
                for (int si = 0; si < patchNums.Length; si++)
                {
                    long n = patchNums[si] * patchNums[si];
                    var w = counted.narrow(0, begin, n);
                    sums[si] += ceBL.narrow(1, begin, n).mul(w).sum().item<float>();
                    counts[si] += w.sum().item<float>() * idx.Length;
                    begin += n;
                }
            }
        }
        finally
        {
            model.train(wasTraining);
        }
        var perScale = sums.Select((s, si) => counts[si] > 0 ? s / counts[si] : double.NaN).ToArray();
        return (sums.Sum() / counts.Sum(), perScale);
    }

    private static double Update(NamedAdamW optimizer, Tensor loss, double lr, double gradClip, EmaWeights? ema)
    {
        loss.backward();
        nn.utils.clip_grad_norm_(optimizer.Parameters, gradClip);
        optimizer.Step(lr);
        ema?.Update();
        return loss.item<float>();
    }

    private static RunProgress Resume(HmarTrainOptions options, HmarTransformer model, NamedAdamW optimizer, EmaWeights? ema, RunLog log, string phase)
    {
        bool emaLoaded = false;
        var (ckpt, _) = RunCheckpoint.Load(options.CheckpointPath, model, optimizer, t => emaLoaded = ema?.Load(t, EmaWeights.CheckpointPrefix) ?? false);
        if (ema is not null && !emaLoaded)
        {
            ema.Reset();
            log.Line($"[{options.Name}] the checkpoint has no EMA: the average starts at the resumed weights");
        }
        log.Line($"[{options.Name}] resumed {phase} training from {options.CheckpointPath} at step {ckpt.Step}");
        return new RunProgress(ckpt.Step, ckpt.SamplesSeen, ckpt.WallSeconds, false);
    }

    private static Tensor DropLabels(HmarTransformer model, Tensor labelB, double classDropout)
    {
        if (classDropout <= 0) return labelB;
        using var drop = rand(labelB.shape[0]).lt(classDropout);
        return where(drop, full_like(labelB, model.Backbone.NullClass), labelB);
    }

    private static long Long(IReadOnlyDictionary<string, string> meta, string key) => long.Parse(meta[key], CultureInfo.InvariantCulture);

    private static string FormatLoss(string what, double mean, double[] perScale) =>
        string.Create(CultureInfo.InvariantCulture, $"{what} {mean:F4} per scale [{string.Join(", ", perScale.Select(x => double.IsNaN(x) ? "-" : x.ToString("F2", CultureInfo.InvariantCulture)))}]");

    private static JsonArray Rounded(double[] values, int digits) =>
        new(values.Select(x => double.IsNaN(x) ? null : (JsonNode)Math.Round(x, digits)).ToArray());

    private static void Export(HmarTrainOptions options, HmarTransformer model, HmarConfig config, State state)
    {
        var done = state.Masked ?? new RunProgress(0, 0, 0, options.MaskSteps <= 0);
        StateDict.WriteSafetensors(options.WeightsPath, model.state_dict().Select(kv => (kv.Key, kv.Value)),
            new Dictionary<string, string>
            {
                ["next_scale_steps"] = state.NextScale.Step.ToString(CultureInfo.InvariantCulture),
                ["masked_steps"] = done.Step.ToString(CultureInfo.InvariantCulture),
            });
        var q = new JsonObject();
        if (!double.IsNaN(state.TestLoss))
        {
            q["test_cross_entropy"] = Math.Round(state.TestLoss, 4);
            q["test_cross_entropy_per_scale"] = Rounded(state.TestPerScale, 3);
        }
        if (!double.IsNaN(state.MaskedTestLoss))
        {
            q["masked_test_cross_entropy"] = Math.Round(state.MaskedTestLoss, 4);
            q["masked_test_cross_entropy_per_scale"] = Rounded(state.MaskedPerScale, 3);
            q["masked_test_mask_ratio"] = options.EvalMaskRatio;
        }
        var total = new RunProgress(state.NextScale.Step + done.Step, state.NextScale.SamplesSeen + done.SamplesSeen,
            state.NextScale.WallSeconds + done.WallSeconds, state.NextScale.Finished && done.Finished);
        var provenance = RunSummary.ProvenanceOf(options with { Steps = options.Steps + options.MaskSteps }, total);
        provenance["next_scale"] = new JsonObject
        {
            ["steps"] = state.NextScale.Step,
            ["planned_steps"] = options.Steps,
            ["wall_seconds"] = Math.Round(state.NextScale.WallSeconds, 1),
            ["loss"] = "per-token cross-entropy x log-normal scale weight / pn^2, summed over tokens, mean over the batch",
            ["scale_weights"] = Rounded(ScaleWeights(config.Backbone.PatchNums), 3),
        };
        provenance["masked"] = new JsonObject
        {
            ["steps"] = done.Step,
            ["planned_steps"] = options.MaskSteps,
            ["wall_seconds"] = Math.Round(done.WallSeconds, 1),
            ["trained"] = string.Join(", ", MaskedTrainable.Select(p => p.TrimEnd('.'))),
            ["loss"] = "cross-entropy on masked tokens only, one mask ratio U[0,1) per step, scale 0 never masked",
        };
        if (options.InitWeights is not null) provenance["initialised_from"] = options.InitWeights;
        if (options.EmaDecay > 0) provenance["ema_decay"] = options.EmaDecay;
        new RunSummary
        {
            Kind = ModelLoader.HmarKind,
            Config = ComponentEntry.ConfigFrom(config),
            Parameters = RunSummary.CountParameters(model),
            Provenance = provenance,
            Quality = q,
        }.Write(options.SummaryPath);
    }
}
