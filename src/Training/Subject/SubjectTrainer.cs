using System.Globalization;
using System.Text.Json.Nodes;
using Var.Model.Checkpoints;
using Var.Model.Transformer;
using Var.Model.Vqvae;
using Var.Training.Generator;
using Var.Training.Runs;

namespace Var.Training.Subject;

/// <summary>
/// Subject-driven fine-tuning of a class-conditional VAR (Chung et al. 2025): a copy of the base transformer with one
/// more class (<see cref="ClassInsertion"/>) learns the shots' token maps under the new class with a scale-wise weighted
/// cross-entropy, only the selected layers (<see cref="SubjectLayers"/>) change, and every step also fits token maps the
/// frozen base generated for the old classes (prior distillation), on the shared <see cref="TrainingLoop"/>.
/// </summary>
public static class SubjectTrainer
{
    /// <summary>What a run measured: teacher-forced cross-entropy of the shots and of held-out prior samples.</summary>
    public sealed record Outcome(RunProgress Progress, long TunedParameters, double SubjectCe, double[] SubjectCePerScale, double PriorCeBase, double PriorCeTuned);

    /// <summary>
    /// Runs (or resumes) fine-tuning of <paramref name="baseModel"/> (float32, left unchanged) on shots (N, 3, H, W) in
    /// [−1, 1] with the tokenizer <paramref name="vae"/>; writes the run folder's checkpoint, model.safetensors (a VAR
    /// with NumClasses + 1 classes, the new one last) and summary.json.
    /// </summary>
    public static Outcome Run(SubjectTrainOptions options, MultiScaleVqvae vae, VarTransformer baseModel, Tensor shotsNchw,
        PriorSamples prior, PriorSamples heldOut, Action<string>? log, CancellationToken cancel)
    {
        if (options.Threads > 0) set_num_threads(options.Threads);
        var groups = SubjectLayers.Parse(options.Layers);
        using var runLog = new RunLog(options.LogPath, log);
        using var subjectTokens = AugmentedTokens(vae, shotsNchw, options.MaxShift, options.Augment, options.MaxRotation, options.ScaleJitter, options.Seed);
        using var shotTokens = Tokens(vae, shotsNchw);
        manual_seed(options.Seed);
        using var model = ClassInsertion.AddClass(baseModel);
        int newClass = model.Config.NumClasses - 1;
        long tuned = SubjectLayers.Select(model, groups);
        model.train();
        using var optimizer = new Optimization.NamedAdamW(model.named_parameters(), (_, _) => false, 0.9, 0.95, 0);
        var classTable = model.named_parameters().First(p => p.name == ClassInsertion.ClassTable).parameter;
        using var rowMask = zeros(model.Config.NullClass + 1, 1);
        rowMask[newClass].fill_(1);
        var start = new RunProgress(0, 0, 0, false);
        if (options.Resume && File.Exists(options.CheckpointPath))
        {
            var (ckpt, _) = RunCheckpoint.Load(options.CheckpointPath, model, optimizer);
            start = new RunProgress(ckpt.Step, ckpt.SamplesSeen, ckpt.WallSeconds, false);
            runLog.Line($"[{options.Name}] resumed from {options.CheckpointPath} at step {ckpt.Step}");
        }
        var weights = options.ScaleWeights(model.Config.NumScales);
        runLog.Line(string.Create(CultureInfo.InvariantCulture,
            $"[{options.Name}] new class '{options.ClassName}' = id {newClass}; {shotsNchw.shape[0]} shots → {subjectTokens.shape[0]} token maps (shifts ±{options.MaxShift}, {options.Augment} random affine copies per shot: rotation ±{options.MaxRotation}°, scale ±{options.ScaleJitter}); " +
            $"tuning [{string.Join(",", groups)}] = {tuned:N0} of {RunSummary.CountParameters(model):N0} params; scale weights " +
            $"{(weights is null ? "off (token mean)" : string.Join(",", weights.Select(w => w.ToString("F3", CultureInfo.InvariantCulture))))}; " +
            $"prior λ {options.PriorWeight} on {prior.Count} base samples"));

        using var subjectLabels = full(options.BatchSize, newClass, dtype: ScalarType.Int64);
        double Step(long step, double lr)
        {
            using var scope = NewDisposeScope();
            StepSeed.Apply(options.Seed, step);
            optimizer.ZeroGrad();
            var pick = randint(0, subjectTokens.shape[0], [options.BatchSize], dtype: ScalarType.Int64);
            var targetsBL = subjectTokens.index_select(0, pick);
            // Input-token noise: a share of the teacher-forced context tokens replaced by random codes (targets kept),
            // so the class learns to continue contexts that are not exactly a shot's.
            Tensor? inputsBL = options.InputNoise > 0
                ? where(rand(targetsBL.shape).lt(options.InputNoise), randint(0, model.Config.VocabSize, targetsBL.shape, dtype: ScalarType.Int64), targetsBL)
                : null;
            var loss = VarTrainer.Loss(model, vae, targetsBL, subjectLabels, 0, out _, weights, inputsBL);
            if (options.PriorWeight > 0 && prior.Count > 0)
            {
                var p = randint(0, prior.Count, [options.PriorBatch], dtype: ScalarType.Int64);
                var priorLoss = VarTrainer.Loss(model, vae, prior.TokensNL.index_select(0, p), prior.LabelsN.index_select(0, p), options.ClassDropout, out _);
                loss = loss + priorLoss.mul(options.PriorWeight);
            }
            loss.backward();
            // Only the new class row of the table learns; old classes and the unconditional row stay as they were.
            using (no_grad()) classTable.grad?.mul_(rowMask);
            nn.utils.clip_grad_norm_(optimizer.Parameters, 2.0);
            optimizer.Step(lr);
            return loss.item<float>();
        }

        void Save(RunProgress p) =>
            new RunCheckpoint(p.Step, p.SamplesSeen, p.WallSeconds, options.Seed).Save(options.CheckpointPath, model, optimizer);

        var end = TrainingLoop.Run(options with { BatchSize = options.BatchSize + (options.PriorWeight > 0 ? options.PriorBatch : 0) },
            start, Step, Save, null, runLog, cancel);
        using var shotLabels = full(shotTokens.shape[0], newClass, dtype: ScalarType.Int64);
        var (subjectCe, subjectPerScale) = VarTrainer.TestLoss(model, vae, shotTokens, shotLabels);
        var (priorBase, _) = VarTrainer.TestLoss(baseModel, vae, heldOut.TokensNL, heldOut.LabelsN);
        var (priorTuned, _) = VarTrainer.TestLoss(model, vae, heldOut.TokensNL, heldOut.LabelsN);
        var outcome = new Outcome(end, tuned, subjectCe, subjectPerScale, priorBase, priorTuned);
        runLog.Line(string.Create(CultureInfo.InvariantCulture,
            $"[{options.Name}] shots' CE {subjectCe:F3} per scale [{string.Join(", ", subjectPerScale.Select(x => x.ToString("F2", CultureInfo.InvariantCulture)))}]; " +
            $"held-out prior CE base {priorBase:F4} → tuned {priorTuned:F4}"));
        Export(options, model, baseModel, groups, shotsNchw.shape[0], outcome);
        return outcome;
    }

    /// <summary>Token ids (N, L) int64 of images (N, 3, H, W) in [−1, 1].</summary>
    public static Tensor Tokens(MultiScaleVqvae vae, Tensor imagesNchw)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return cat(vae.ImageToTokens(imagesNchw), 1).to(ScalarType.Int64).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Token ids of every shot in every shift (dy, dx) ∈ [−s, s]² with black (−1) fill, then <paramref name="augment"/>
    /// random affine copies of each shot (rotation ±<paramref name="maxRotation"/>°, scale 1 ± <paramref name="scaleJitter"/>,
    /// shift ±s pixels, bilinear, black fill; seeded): (N·((2s+1)² + augment), L) int64. The copies give the new class
    /// many more contexts than the shots alone, so its own samples (which never match a shot exactly) stay on the subject.
    /// </summary>
    public static Tensor AugmentedTokens(MultiScaleVqvae vae, Tensor shotsNchw, int maxShift, int augment = 0, double maxRotation = 0, double scaleJitter = 0, int seed = 0)
    {
        using var scope = NewDisposeScope();
        long n = shotsNchw.shape[0], h = shotsNchw.shape[2], w = shotsNchw.shape[3];
        int s = Math.Max(0, maxShift);
        var padded = nn.functional.pad(shotsNchw, [s, s, s, s], value: -1);
        var shifted = new List<Tensor>();
        for (int dy = 0; dy <= 2 * s; dy++)
        {
            for (int dx = 0; dx <= 2 * s; dx++) shifted.Add(padded.narrow(2, dy, h).narrow(3, dx, w));
        }
        if (augment > 0)
        {
            var rng = new Random(seed);
            double U(double a) => (2 * rng.NextDouble() - 1) * a;
            var theta = new float[n * augment * 6];
            for (int i = 0; i < n * augment; i++)
            {
                double angle = U(maxRotation) * Math.PI / 180, zoom = 1 + U(scaleJitter);
                // theta maps output to input coordinates in [−1, 1]: the inverse of "rotate by angle, zoom, shift".
                double c = Math.Cos(angle) / zoom, sn = Math.Sin(angle) / zoom;
                theta[6 * i] = (float)c;
                theta[6 * i + 1] = (float)-sn;
                theta[6 * i + 2] = (float)(U(s) * 2 / w);
                theta[6 * i + 3] = (float)sn;
                theta[6 * i + 4] = (float)c;
                theta[6 * i + 5] = (float)(U(s) * 2 / h);
            }
            var source = shotsNchw.repeat_interleave(augment, 0).add(1); // black (−1) → 0, the padding value
            var grid = nn.functional.affine_grid(tensor(theta).reshape(n * augment, 2, 3), [n * augment, shotsNchw.shape[1], h, w], align_corners: false);
            shifted.Add(nn.functional.grid_sample(source, grid, align_corners: false).sub(1).clamp(-1, 1));
        }
        return Tokens(vae, cat(shifted, 0).contiguous()).MoveToOuterDisposeScope();
    }

    private static void Export(SubjectTrainOptions options, VarTransformer model, VarTransformer baseModel, string[] groups, long shots, Outcome o)
    {
        // The base with the class row added but nothing trained: it draws the old classes, the tuned copy the new one.
        using (var withClass = ClassInsertion.AddClass(baseModel))
        {
            Directory.CreateDirectory(options.BaseCopyDirectory);
            StateDict.WriteSafetensors(Path.Combine(options.BaseCopyDirectory, "model.safetensors"), withClass.state_dict().Select(kv => (kv.Key, kv.Value)),
                new Dictionary<string, string> { ["role"] = "base" });
            new RunSummary
            {
                Kind = "var",
                Config = ComponentEntry.ConfigFrom(withClass.Config),
                Parameters = RunSummary.CountParameters(withClass),
                Provenance = new JsonObject
                {
                    ["base_model"] = options.BaseModel,
                    ["class_added"] = options.ClassName,
                    ["note"] = "the base transformer unchanged but for the added class row (a copy of the unconditional one); draws every class except the taught one",
                },
            }.Write(Path.Combine(options.BaseCopyDirectory, "summary.json"));
        }
        StateDict.WriteSafetensors(options.WeightsPath, model.state_dict().Select(kv => (kv.Key, kv.Value)),
            new Dictionary<string, string> { ["step"] = o.Progress.Step.ToString(CultureInfo.InvariantCulture) });
        var provenance = RunSummary.ProvenanceOf(options, o.Progress);
        provenance["subject"] = new JsonObject
        {
            ["base_model"] = options.BaseModel,
            ["class_name"] = options.ClassName,
            ["class_id"] = model.Config.NumClasses - 1,
            ["shots"] = shots,
            ["tuned_layers"] = new JsonArray(groups.Select(g => (JsonNode)g).ToArray()),
            ["tuned_parameters"] = o.TunedParameters,
            ["scale_decay"] = options.ScaleDecay,
            ["prior_weight"] = options.PriorWeight,
            ["prior_batch"] = options.PriorBatch,
            ["subject_batch"] = options.BatchSize,
            ["max_shift"] = options.MaxShift,
            ["augment"] = options.Augment,
            ["max_rotation_degrees"] = options.MaxRotation,
            ["scale_jitter"] = options.ScaleJitter,
            ["input_noise"] = options.InputNoise,
            ["learning_rate"] = options.LearningRate,
        };
        new RunSummary
        {
            Kind = "var",
            Config = ComponentEntry.ConfigFrom(model.Config),
            Parameters = RunSummary.CountParameters(model),
            Provenance = provenance,
            Quality = new JsonObject
            {
                ["shots_cross_entropy"] = Math.Round(o.SubjectCe, 4),
                ["shots_cross_entropy_per_scale"] = new JsonArray(o.SubjectCePerScale.Select(x => (JsonNode)Math.Round(x, 3)).ToArray()),
                ["held_out_prior_cross_entropy_base"] = Math.Round(o.PriorCeBase, 4),
                ["held_out_prior_cross_entropy_tuned"] = Math.Round(o.PriorCeTuned, 4),
            },
        }.Write(options.SummaryPath);
    }
}
