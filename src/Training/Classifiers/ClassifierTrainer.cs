using Var.Model.Classifiers;
using System.Globalization;
using System.Text.Json.Nodes;
using Var.Model.Checkpoints;
using Var.Training.Data;
using Var.Training.Optimization;
using Var.Training.Runs;

namespace Var.Training.Classifiers;

/// <summary>Trains an <see cref="ImageClassifier"/> on Fashion-MNIST with cross-entropy, AdamW and light augmentation.</summary>
public static class ClassifierTrainer
{
    /// <summary>Runs (or resumes) training; returns the progress and the test accuracy.</summary>
    public static (RunProgress Progress, double TestAccuracy) Run(ClassifierTrainOptions options, Action<string>? log, CancellationToken cancel) =>
        Run(options, FashionMnist.Load("train", options.DataDirectory), FashionMnist.Load("test", options.DataDirectory), log, cancel);

    /// <summary>
    /// Runs (or resumes) training on any labelled set (e.g. the OpenCV digits of the subject study; class ids must be
    /// below <see cref="ClassifierConfig.NumClasses"/>); returns the progress and the accuracy on <paramref name="test"/>.
    /// </summary>
    public static (RunProgress Progress, double TestAccuracy) Run(ClassifierTrainOptions options, ILabelledImages train, ILabelledImages test,
        Action<string>? log, CancellationToken cancel)
    {
        if (options.Threads > 0) set_num_threads(options.Threads);
        using var runLog = new RunLog(options.LogPath, log);
        manual_seed(options.Seed);
        using var model = new ImageClassifier(options.Config);
        model.train();
        using var optimizer = new NamedAdamW(model.named_parameters(), (_, p) => p.dim() > 1, 0.9, 0.999, options.WeightDecay);
        var start = new RunProgress(0, 0, 0, false);
        if (options.Resume && File.Exists(options.CheckpointPath))
        {
            var (ckpt, _) = RunCheckpoint.Load(options.CheckpointPath, model, optimizer);
            start = new RunProgress(ckpt.Step, ckpt.SamplesSeen, ckpt.WallSeconds, false);
            runLog.Line($"[{options.Name}] resumed from {options.CheckpointPath} at step {ckpt.Step}");
        }
        runLog.Line($"[{options.Name}] classifier {RunSummary.CountParameters(model):N0} params, {options.Config}");
        var sampler = new EpochSampler(train.Count, options.BatchSize, options.Seed);
        double accuracy = double.NaN;

        double Step(long step, double lr)
        {
            using var scope = NewDisposeScope();
            StepSeed.Apply(options.Seed, step);
            var idx = sampler.Batch(step);
            var img = Augment(train.Batch(idx), options);
            optimizer.ZeroGrad();
            var loss = nn.functional.cross_entropy(model.forward(img), train.LabelBatch(idx));
            loss.backward();
            optimizer.Step(lr);
            return loss.item<float>();
        }

        string Evaluate(long step)
        {
            accuracy = Accuracy(model, test, test.AllIndices());
            return string.Create(CultureInfo.InvariantCulture, $"test accuracy {accuracy:P2}");
        }

        void Save(RunProgress p)
        {
            new RunCheckpoint(p.Step, p.SamplesSeen, p.WallSeconds, options.Seed).Save(options.CheckpointPath, model, optimizer);
            Export(options, model, p, accuracy);
        }

        var end = TrainingLoop.Run(options, start, Step, Save, Evaluate, runLog, cancel);
        runLog.Line($"[{options.Name}] final: {Evaluate(end.Step)}");
        Export(options, model, end, accuracy);
        return (end, accuracy);
    }

    /// <summary>Random shifts (zero = black padding at −1) and horizontal flips of a batch (B, 3, H, W); torch's global generator.</summary>
    public static Tensor Augment(Tensor imagesBchw, ClassifierTrainOptions options)
    {
        using var scope = NewDisposeScope();
        var x = imagesBchw;
        if (options.HorizontalFlip)
        {
            var flip = rand(x.shape[0]).lt(0.5).view(-1, 1, 1, 1);
            x = where(flip, x.flip(3), x);
        }
        int s = options.MaxShift;
        if (s > 0)
        {
            long h = x.shape[2], w = x.shape[3];
            var padded = nn.functional.pad(x, [s, s, s, s], value: -1);
            var offsets = randint(0, 2 * s + 1, [2], dtype: ScalarType.Int64).data<long>().ToArray();
            x = padded.narrow(2, offsets[0], h).narrow(3, offsets[1], w);
        }
        return x.contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>Top-1 accuracy of <paramref name="model"/> on <paramref name="indices"/> of a split (eval mode).</summary>
    public static double Accuracy(ImageClassifier model, ILabelledImages data, IReadOnlyList<int> indices)
    {
        bool wasTraining = model.training;
        model.eval();
        long correct = 0;
        try
        {
            for (int at = 0; at < indices.Count; at += 500)
            {
                using var scope = NewDisposeScope();
                using var noGrad = no_grad();
                var idx = indices.Skip(at).Take(500).ToArray();
                var predicted = model.forward(data.Batch(idx)).argmax(1);
                correct += predicted.eq(data.LabelBatch(idx)).sum().item<long>();
            }
        }
        finally
        {
            model.train(wasTraining);
        }
        return correct / (double)indices.Count;
    }

    private static void Export(ClassifierTrainOptions options, ImageClassifier model, RunProgress progress, double accuracy)
    {
        StateDict.WriteSafetensors(options.WeightsPath, model.state_dict().Select(kv => (kv.Key, kv.Value)),
            new Dictionary<string, string> { ["step"] = progress.Step.ToString(CultureInfo.InvariantCulture) });
        var q = new JsonObject();
        if (!double.IsNaN(accuracy)) q["test_accuracy"] = Math.Round(accuracy, 4);
        new RunSummary
        {
            Kind = "classifier",
            Config = ComponentEntry.ConfigFrom(options.Config),
            Parameters = RunSummary.CountParameters(model),
            Provenance = RunSummary.ProvenanceOf(options, progress),
            Quality = q,
        }.Write(options.SummaryPath);
    }
}
