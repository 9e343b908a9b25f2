using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Var.Model.Checkpoints;
using Var.Model.Transformer;
using Var.Model.Vqvae;
using Var.Training.Data;
using Var.Training.Optimization;
using Var.Training.Runs;

namespace Var.Training.Generator;

/// <summary>
/// Teacher-forced next-scale training of a VAR transformer over a frozen tokenizer (var.md §4): cached token ids →
/// <c>idxBl_to_var_input</c> → block-causal forward with 10 % class dropout → cross-entropy mean over all tokens;
/// AdamW (0.9, 0.95), weight decay 0.05 on matrices only, gradient clip 2.0, warm-up / constant / linear decay;
/// optionally an EMA of the weights (<see cref="VarTrainOptions.EmaDecay"/>), which is then what the run exports.
/// </summary>
public static class VarTrainer
{
    /// <summary>Runs (or resumes) training; returns the progress and the last test cross-entropy (NaN if none).</summary>
    public static (RunProgress Progress, double TestLoss) Run(VarTrainOptions options, Action<string>? log, CancellationToken cancel)
    {
        if (options.TeacherModel is not null && options.DistillAlpha is < 0 or > 1)
            throw new ArgumentOutOfRangeException(nameof(options), options.DistillAlpha, "--distill-alpha must lie in [0, 1]");
        if (options.Threads > 0) set_num_threads(options.Threads);
        using var runLog = new RunLog(options.LogPath, log);
        using var vae = LoadTokenizer(options.TokenizerWeights);
        var train = FashionMnist.Load("train", options.DataDirectory);
        var test = FashionMnist.Load("test", options.DataDirectory);
        var trainTokens = TokenCache.LoadOrBuild(vae, options.TokenizerWeights, train, options.TokenCacheDirectory, runLog.Line);
        var testTokens = TokenCache.LoadOrBuild(vae, options.TokenizerWeights, test, options.TokenCacheDirectory, runLog.Line);
        var config = options.ConfigFor(vae.Config.VocabSize, vae.Config.ZChannels, vae.Config.PatchNums);

        manual_seed(options.Seed);
        using var model = Build(config);
        model.train();
        using var optimizer = CreateOptimizer(model, options.WeightDecay);
        var start = new RunProgress(0, 0, 0, false);
        // The average starts at the weights the run starts from, unless the checkpoint carries one.
        using var ema = options.EmaDecay > 0 ? new EmaWeights(model, options.EmaDecay) : null;
        bool emaLoaded = false;
        if (options.Resume && File.Exists(options.CheckpointPath))
        {
            var (ckpt, _) = RunCheckpoint.Load(options.CheckpointPath, model, optimizer, t => emaLoaded = ema?.Load(t, EmaWeights.CheckpointPrefix) ?? false);
            start = new RunProgress(ckpt.Step, ckpt.SamplesSeen, ckpt.WallSeconds, false);
            runLog.Line($"[{options.Name}] resumed from {options.CheckpointPath} at step {ckpt.Step}");
            if (ema is not null && !emaLoaded) runLog.Line($"[{options.Name}] the checkpoint has no EMA: the average starts at the resumed weights");
        }
        else if (options.InitWeights is { } init)
        {
            using (var sd = StateDict.Read(init)) sd.LoadInto(model);
            runLog.Line($"[{options.Name}] initialised from {init}");
        }
        if (!emaLoaded) ema?.Reset();
        runLog.Line($"[{options.Name}] VAR {RunSummary.CountParameters(model):N0} params, config {ComponentEntry.ConfigFrom(config).ToJsonString()}");
        using var teacher = options.TeacherModel is { } teacherFolder ? LoadTeacher(teacherFolder, config, options.DistillFromScale) : null;
        if (teacher is not null)
            runLog.Line(string.Create(CultureInfo.InvariantCulture,
                $"[{options.Name}] distilling scales {options.DistillFromScale}..{config.NumScales - 1} from the 'var' transformer of {options.TeacherModel} ({RunSummary.CountParameters(teacher):N0} params), loss {options.DistillAlpha}·KL + {1 - options.DistillAlpha}·CE"));

        var sampler = new EpochSampler(train.Count, options.BatchSize, options.Seed);
        var evalIndices = Enumerable.Range(0, Math.Min(options.EvalImages, test.Count)).ToArray();
        double testLoss = double.NaN;
        double[] testPerScale = [];

        double Step(long step, double lr)
        {
            using var scope = NewDisposeScope();
            StepSeed.Apply(options.Seed, step);
            var idx = sampler.Batch(step);
            optimizer.ZeroGrad();
            var loss = teacher is null
                ? Loss(model, vae, trainTokens.Batch(idx), train.LabelBatch(idx), options.ClassDropout, out _)
                : DistillLoss(model, teacher, vae, trainTokens.Batch(idx), train.LabelBatch(idx), options.ClassDropout, options.DistillFromScale, options.DistillAlpha);
            loss.backward();
            nn.utils.clip_grad_norm_(optimizer.Parameters, options.GradClip);
            optimizer.Step(lr);
            ema?.Update();
            return loss.item<float>();
        }

        // With an EMA the averaged weights are what is evaluated and exported; the trained ones are reported beside.
        string Evaluate(long step)
        {
            if (ema is null)
            {
                (testLoss, testPerScale) = TestLoss(model, vae, testTokens, test, evalIndices);
                return FormatLoss(testLoss, testPerScale);
            }
            var (rawLoss, _) = TestLoss(model, vae, testTokens, test, evalIndices);
            using (ema.Swapped()) (testLoss, testPerScale) = TestLoss(model, vae, testTokens, test, evalIndices);
            return string.Create(CultureInfo.InvariantCulture, $"EMA {FormatLoss(testLoss, testPerScale)} (trained weights {rawLoss:F4})");
        }

        void Export(RunProgress p)
        {
            using var swapped = ema?.Swapped();
            ExportWeights(options, model, config, p, testLoss, testPerScale);
        }

        void Save(RunProgress p)
        {
            new RunCheckpoint(p.Step, p.SamplesSeen, p.WallSeconds, options.Seed).Save(options.CheckpointPath, model, optimizer, ema?.StateItems(EmaWeights.CheckpointPrefix));
            Export(p);
        }

        var end = TrainingLoop.Run(options, start, Step, Save, Evaluate, runLog, cancel);
        runLog.Line($"[{options.Name}] final: {Evaluate(end.Step)}");
        Export(end);
        return (end, testLoss);
    }

    /// <summary>A VAR initialised for training from scratch (var.md §2.7 with init_std = √(1/3C), aln 0.5, alng 1e-3, head 0.02).</summary>
    public static VarTransformer Build(VarConfig config)
    {
        var model = new VarTransformer(config);
        model.InitWeights(Math.Sqrt(1.0 / (3 * config.EmbedDim)), 0.5, 1e-3, 0.02);
        return model;
    }

    /// <summary>True for parameters that get weight decay: matrices other than the position/level embeddings (var.md §4).</summary>
    public static bool Decays(string name, Parameter p) =>
        p.dim() > 1 && !name.EndsWith("bias", StringComparison.Ordinal)
        && !new[] { "pos_1LC", "pos_start", "lvl_embed", "scale_mul" }.Any(name.Contains);

    /// <summary>The trainer's optimiser over <paramref name="model"/>.</summary>
    public static NamedAdamW CreateOptimizer(VarTransformer model, double weightDecay) =>
        new(model.named_parameters(), Decays, 0.9, 0.95, weightDecay);

    /// <summary>Loads a frozen tokenizer from safetensors, its architecture from the summary.json beside it.</summary>
    public static MultiScaleVqvae LoadTokenizer(string weights)
    {
        string summaryPath = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(weights))!, "summary.json");
        var config = File.Exists(summaryPath)
            ? RunSummary.Read(summaryPath).Config.Deserialize<VqvaeConfig>(ModelManifest.Json)!
            : Tokenizer.TokenizerTrainOptions.SmallConfig;
        var vae = ModelLoader.LoadVqvae(config, weights);
        foreach (var p in vae.parameters()) p.requires_grad = false;
        return vae;
    }

    /// <summary>
    /// Cross-entropy (mean over all tokens) of teacher-forced logits for tokens (B, L) int64 and labels (B,) int64;
    /// labels are replaced by the unconditional class with probability <paramref name="classDropout"/> (torch's
    /// global generator). <paramref name="logitsBLV"/> receives the detached logits. With <paramref name="scaleWeights"/>
    /// (one per scale) the loss is instead the scale-wise weighted cross-entropy Σₖ wₖ·CEₖ / Σₖ wₖ, CEₖ the mean over
    /// scale k's tokens (subject fine-tuning: weights that favour the coarse scales). With <paramref name="inputTokensBL"/>
    /// (same shape as <paramref name="tokensBL"/>) the teacher-forced inputs are built from those tokens instead, the
    /// targets staying <paramref name="tokensBL"/> (input-token noise).
    /// </summary>
    public static Tensor Loss(VarTransformer model, MultiScaleVqvae vae, Tensor tokensBL, Tensor labelB, double classDropout, out Tensor logitsBLV,
        IReadOnlyList<double>? scaleWeights = null, Tensor? inputTokensBL = null)
    {
        using var scope = NewDisposeScope();
        Tensor xBLCv;
        using (no_grad()) xBLCv = vae.Quantizer.TokensToVarInput(TokenCache.PerScale(inputTokensBL ?? tokensBL, vae.Config.PatchNums));
        var label = labelB;
        if (classDropout > 0)
        {
            var drop = rand(labelB.shape[0]).lt(classDropout);
            label = where(drop, full_like(labelB, model.Config.NullClass), labelB);
        }
        var logits = model.forward(label, xBLCv);
        long v = logits.shape[2];
        var loss = scaleWeights is null
            ? nn.functional.cross_entropy(logits.view(-1, v), tokensBL.view(-1))
            : ScaleWeighted(nn.functional.cross_entropy(logits.view(-1, v), tokensBL.view(-1), reduction: nn.Reduction.None).view(tokensBL.shape[0], -1),
                model.ScaleRanges, scaleWeights);
        logitsBLV = logits.detach().MoveToOuterDisposeScope();
        return loss.MoveToOuterDisposeScope();
    }

    /// <summary>Σₖ wₖ·mean(ceBL over scale k's tokens) / Σₖ wₖ for per-token losses ceBL (B, L).</summary>
    public static Tensor ScaleWeighted(Tensor ceBL, IReadOnlyList<(int Begin, int End)> scaleRanges, IReadOnlyList<double> weights)
    {
        if (weights.Count != scaleRanges.Count) throw new ArgumentException($"{weights.Count} scale weights for {scaleRanges.Count} scales");
        using var scope = NewDisposeScope();
        Tensor? sum = null;
        for (int k = 0; k < scaleRanges.Count; k++)
        {
            var (begin, end) = scaleRanges[k];
            var term = ceBL.narrow(1, begin, end - begin).mean().mul(weights[k]);
            sum = sum is null ? term : sum + term;
        }
        return sum!.div(weights.Sum()).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The frozen teacher for refiner specialisation: the "var" transformer of a model folder, with the student's
    /// tokenizer interface (vocabulary, latent width, schedule, classes).
    /// </summary>
    public static VarTransformer LoadTeacher(string modelFolder, VarConfig student, int fromScale)
    {
        var folder = ModelLoader.ResolveModelFolder(modelFolder);
        var teacher = ModelLoader.LoadTransformer(folder, ModelManifest.Read(Path.Combine(folder, ModelManifest.FileName)), "var");
        var t = teacher.Config;
        if (t.VocabSize != student.VocabSize || t.VaeChannels != student.VaeChannels || !t.PatchNums.SequenceEqual(student.PatchNums) || t.NumClasses != student.NumClasses)
        {
            teacher.Dispose();
            throw new ArgumentException($"the teacher in {folder} (V={t.VocabSize}, Cvae={t.VaeChannels}, scales [{string.Join(",", t.PatchNums)}], {t.NumClasses} classes) does not fit the student's tokenizer and classes");
        }
        if (fromScale < 1 || fromScale >= t.NumScales)
        {
            teacher.Dispose();
            throw new ArgumentOutOfRangeException(nameof(fromScale), fromScale, $"the distilled scales must start in 1..{t.NumScales - 1}");
        }
        teacher.eval();
        foreach (var p in teacher.parameters()) p.requires_grad = false;
        return teacher;
    }

    /// <summary>
    /// Refiner specialisation loss (CoDe §1: the refiner learns the large model's teacher logits on its own scales):
    /// α·KL(softmax(teacher) ‖ softmax(student)) + (1−α)·CE(student, ground-truth tokens), each a mean over the tokens
    /// of scales ≥ <paramref name="fromScale"/> of tokens (B, L) int64 under labels (B,) int64; teacher and student see
    /// the same teacher-forced input and the same (dropped) labels. α = <paramref name="alpha"/> in [0, 1]: 1 is pure
    /// imitation, 0 plain cross-entropy on the refiner's scales (the official <c>distillation_loss</c> hint mixes them
    /// with α = 0.5, code.md §1 "Training remnants").
    /// </summary>
    public static Tensor DistillLoss(VarTransformer student, VarTransformer teacher, MultiScaleVqvae vae, Tensor tokensBL, Tensor labelB, double classDropout, int fromScale,
        double alpha = 1.0)
    {
        if (alpha is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "the distillation weight must lie in [0, 1]");
        using var scope = NewDisposeScope();
        Tensor xBLCv, teacherLogp;
        var label = labelB;
        if (classDropout > 0)
        {
            var drop = rand(labelB.shape[0]).lt(classDropout);
            label = where(drop, full_like(labelB, student.Config.NullClass), labelB);
        }
        int begin = student.ScaleRanges[fromScale].Begin, l = student.Config.TotalTokens - begin;
        using (no_grad()) xBLCv = vae.Quantizer.TokensToVarInput(TokenCache.PerScale(tokensBL, vae.Config.PatchNums));
        var studentLogpBlV = student.forward(label, xBLCv).narrow(1, begin, l).log_softmax(-1);
        Tensor? loss = null;
        if (alpha > 0)
        {
            using (no_grad()) teacherLogp = teacher.forward(label, xBLCv).narrow(1, begin, l).log_softmax(-1);
            var kl = (teacherLogp.exp() * (teacherLogp - studentLogpBlV)).sum(-1).mean();
            loss = alpha == 1 ? kl : kl.mul(alpha);
        }
        if (alpha < 1)
        {
            var targetBl = tokensBL.narrow(1, begin, l);
            var ce = nn.functional.nll_loss(studentLogpBlV.reshape(-1, studentLogpBlV.shape[2]), targetBl.reshape(-1)).mul(1 - alpha);
            loss = loss is null ? ce : loss + ce;
        }
        return loss!.MoveToOuterDisposeScope();
    }

    /// <summary>Teacher-forced test cross-entropy (no class dropout, eval mode), overall and per scale.</summary>
    public static (double Mean, double[] PerScale) TestLoss(VarTransformer model, MultiScaleVqvae vae, TokenCache tokens, FashionMnist data, int[] indices) =>
        TestLoss(model, vae, indices.Length, (at, n) =>
        {
            var idx = indices.AsSpan(at, n);
            return (tokens.Batch(idx), data.LabelBatch(idx));
        });

    /// <summary>Teacher-forced cross-entropy (no class dropout, eval mode) of tokens (N, L) int64 under labels (N,) int64.</summary>
    public static (double Mean, double[] PerScale) TestLoss(VarTransformer model, MultiScaleVqvae vae, Tensor tokensNL, Tensor labelsN) =>
        TestLoss(model, vae, (int)tokensNL.shape[0], (at, n) => (tokensNL.narrow(0, at, n), labelsN.narrow(0, at, n)));

    private static (double Mean, double[] PerScale) TestLoss(VarTransformer model, MultiScaleVqvae vae, int count, Func<int, int, (Tensor TokensBL, Tensor LabelB)> batch)
    {
        bool wasTraining = model.training;
        model.eval();
        var patchNums = vae.Config.PatchNums;
        var sums = new double[patchNums.Length];
        try
        {
            for (int at = 0; at < count; at += 250)
            {
                using var scope = NewDisposeScope();
                using var noGrad = no_grad();
                int n = Math.Min(250, count - at);
                var (tokensBL, labelB) = batch(at, n);
                Loss(model, vae, tokensBL, labelB, 0, out var logits);
                var ce = nn.functional.cross_entropy(logits.view(-1, logits.shape[2]), tokensBL.reshape(-1), reduction: nn.Reduction.None).view(n, -1);
                long begin = 0;
                for (int si = 0; si < patchNums.Length; si++)
                {
                    long m = patchNums[si] * patchNums[si];
                    sums[si] += ce.narrow(1, begin, m).sum().item<float>();
                    begin += m;
                }
            }
        }
        finally
        {
            model.train(wasTraining);
        }
        var perScale = patchNums.Select((p, si) => sums[si] / (count * (double)p * p)).ToArray();
        double mean = sums.Sum() / (count * (double)patchNums.Sum(p => p * p));
        return (mean, perScale);
    }

    private static string FormatLoss(double mean, double[] perScale) =>
        string.Create(CultureInfo.InvariantCulture, $"test CE {mean:F4} per scale [{string.Join(", ", perScale.Select(x => x.ToString("F2", CultureInfo.InvariantCulture)))}]");

    private static void ExportWeights(VarTrainOptions options, VarTransformer model, VarConfig config, RunProgress progress, double testLoss, double[] perScale)
    {
        StateDict.WriteSafetensors(options.WeightsPath, model.state_dict().Select(kv => (kv.Key, kv.Value)),
            new Dictionary<string, string> { ["step"] = progress.Step.ToString(CultureInfo.InvariantCulture) });
        var q = new JsonObject();
        if (!double.IsNaN(testLoss))
        {
            q["test_cross_entropy"] = Math.Round(testLoss, 4);
            q["test_cross_entropy_per_scale"] = new JsonArray(perScale.Select(x => (JsonNode)Math.Round(x, 3)).ToArray());
        }
        var provenance = RunSummary.ProvenanceOf(options, progress);
        if (options.InitWeights is not null) provenance["initialised_from"] = options.InitWeights;
        if (options.EmaDecay > 0) provenance["ema_decay"] = options.EmaDecay;
        if (options.TeacherModel is not null)
        {
            provenance["distilled_from"] = options.TeacherModel;
            provenance["distilled_scales_from"] = options.DistillFromScale;
            provenance["distill_alpha"] = options.DistillAlpha;
        }
        new RunSummary
        {
            Kind = "var",
            Config = ComponentEntry.ConfigFrom(config),
            Parameters = RunSummary.CountParameters(model),
            Provenance = provenance,
            Quality = q,
        }.Write(options.SummaryPath);
    }
}
