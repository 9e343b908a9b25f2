using System.Text.Json.Nodes;
using Var.Model.Checkpoints;
using Var.Model.Vqvae;
using Var.Training.Data;
using Var.Training.Evaluation;
using Var.Training.Optimization;
using Var.Training.Runs;

namespace Var.Training.Tokenizer;

/// <summary>
/// Trains the multi-scale VQVAE on Fashion-MNIST (calibration.md §1): loss MSE + 0.2·L1 on [−1, 1] plus the quantizer's
/// VQ loss, NamedAdamW (0.9, 0.95) without weight decay, warm-up / constant / linear decay, dead-code restarts.
/// </summary>
public static class TokenizerTrainer
{
    /// <summary>Runs (or resumes) training; returns the progress and the last measured quality.</summary>
    public static (RunProgress Progress, ReconstructionQuality? Quality) Run(TokenizerTrainOptions options, Action<string>? log, CancellationToken cancel)
    {
        if (options.Threads > 0) set_num_threads(options.Threads);
        using var runLog = new RunLog(options.LogPath, log);
        var train = FashionMnist.Load("train", options.DataDirectory);
        var test = FashionMnist.Load("test", options.DataDirectory);
        var evalIndices = Enumerable.Range(0, Math.Min(options.EvalImages, test.Count)).ToArray();

        manual_seed(options.Seed);
        using var vae = Build(options.Config);
        vae.train();
        using var optimizer = new NamedAdamW(vae.named_parameters(), (_, _) => false, 0.9, 0.95, weightDecay: 0);
        using var restarter = new CodeRestarter(options.Config.VocabSize);
        var start = new RunProgress(0, 0, 0, false);
        if (options.Resume && File.Exists(options.CheckpointPath))
        {
            var (ckpt, _) = RunCheckpoint.Load(options.CheckpointPath, vae, optimizer, extra =>
            {
                if (extra.TryGetValue("restarter.hits_v", out var hits)) restarter.HitsV.copy_(hits);
            });
            start = new RunProgress(ckpt.Step, ckpt.SamplesSeen, ckpt.WallSeconds, false);
            runLog.Line($"[{options.Name}] resumed from {options.CheckpointPath} at step {ckpt.Step}");
        }
        runLog.Line($"[{options.Name}] VQVAE {RunSummary.CountParameters(vae):N0} params, config {ComponentEntry.ConfigFrom(options.Config).ToJsonString()}");

        var sampler = new EpochSampler(train.Count, options.BatchSize, options.Seed);
        long restartUntil = (long)(options.RestartUntil * options.Steps);
        ReconstructionQuality? quality = null;

        double Step(long step, double lr)
        {
            using var scope = NewDisposeScope();
            StepSeed.Apply(options.Seed, step);
            var img = train.Batch(sampler.Batch(step));
            optimizer.ZeroGrad();
            var loss = Loss(vae, img, options, out var hitsSV);
            loss.backward();
            optimizer.Step(lr);
            restarter.Accumulate(hitsSV);
            if (options.RestartEvery > 0 && (step + 1) % options.RestartEvery == 0 && step + 1 <= restartUntil)
            {
                var pick = new Random(StepSeed.Mix(options.Seed, step, 0xdead)).GetItems(train.AllIndices(), options.RestartImages);
                int reset = restarter.Restart(vae, optimizer, train.Batch(pick));
                if (reset > 0) runLog.Line($"[{options.Name}] step {step + 1}: restarted {reset} dead codes");
            }
            return loss.item<float>();
        }

        string Evaluate(long step)
        {
            quality = ReconstructionQuality.Measure(vae, test, evalIndices);
            return quality.ToString();
        }

        void Save(RunProgress p)
        {
            new RunCheckpoint(p.Step, p.SamplesSeen, p.WallSeconds, options.Seed).Save(options.CheckpointPath, vae, optimizer,
                [("restarter.hits_v", restarter.HitsV)]);
            ExportWeights(options, vae, p, quality);
        }

        var end = TrainingLoop.Run(options, start, Step, Save, Evaluate, runLog, cancel);
        if (end.Finished || quality is null)
        {
            quality = ReconstructionQuality.Measure(vae, test, evalIndices);
            runLog.Line($"[{options.Name}] final: {quality}");
            ExportWeights(options, vae, end, quality);
        }
        return (end, quality);
    }

    /// <summary>
    /// A freshly initialised VQVAE with the reference's small uniform codebook init (±1/V, <c>quant.eini = −1</c>).
    /// </summary>
    public static MultiScaleVqvae Build(VqvaeConfig config)
    {
        var vae = new MultiScaleVqvae(config);
        using var noGrad = no_grad();
        vae.Quantizer.Codebook.uniform_(-1.0 / config.VocabSize, 1.0 / config.VocabSize);
        return vae;
    }

    /// <summary>
    /// Training loss of images (B, 3, H, W) in [−1, 1]: MSE + L1Weight·L1 of the straight-through reconstruction plus
    /// the VQ loss; <paramref name="hitsSV"/> receives code hits per scale.
    /// </summary>
    public static Tensor Loss(MultiScaleVqvae vae, Tensor imagesBchw, TokenizerTrainOptions options, out Tensor hitsSV)
    {
        using var scope = NewDisposeScope();
        var f = vae.Encode(imagesBchw);
        var (fHat, vqLoss, hits) = vae.Quantizer.ForwardTraining(f, options.Beta);
        var rec = vae.DecodeUnclamped(fHat);
        var loss = nn.functional.mse_loss(rec, imagesBchw) + nn.functional.l1_loss(rec, imagesBchw).mul(options.L1Weight) + vqLoss;
        hitsSV = hits.MoveToOuterDisposeScope();
        return loss.MoveToOuterDisposeScope();
    }

    private static void ExportWeights(TokenizerTrainOptions options, MultiScaleVqvae vae, RunProgress progress, ReconstructionQuality? quality)
    {
        StateDict.WriteSafetensors(options.WeightsPath, vae.state_dict().Select(kv => (kv.Key, kv.Value)),
            new Dictionary<string, string> { ["step"] = progress.Step.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        var q = new JsonObject();
        if (quality is not null)
        {
            q["test_psnr_db"] = Math.Round(quality.PsnrMean, 2);
            q["test_psnr_global_db"] = Math.Round(quality.PsnrGlobal, 2);
            q["codebook_usage"] = Math.Round(quality.CodebookUsage, 4);
            q["test_images"] = quality.Images;
        }
        new RunSummary
        {
            Kind = "vqvae",
            Config = ComponentEntry.ConfigFrom(options.Config),
            Parameters = RunSummary.CountParameters(vae),
            Provenance = RunSummary.ProvenanceOf(options, progress),
            Quality = q,
        }.Write(options.SummaryPath);
    }
}
