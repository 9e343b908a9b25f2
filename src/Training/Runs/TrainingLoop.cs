using System.Diagnostics;
using System.Globalization;

namespace Var.Training.Runs;

/// <summary>
/// The step loop every trainer shares: learning-rate schedule, progress lines (loss EMA, lr, throughput, ETA),
/// periodic evaluation, timed checkpoints, a wall-clock budget and cooperative cancellation.
/// </summary>
public static class TrainingLoop
{
    /// <summary>
    /// Runs steps from <paramref name="start"/> until <see cref="RunOptions.Steps"/>, the minutes budget or cancellation.
    /// <paramref name="trainStep"/>(step, lr) returns the batch loss; <paramref name="checkpoint"/> is called with the
    /// progress to persist; <paramref name="evaluate"/> runs every <see cref="RunOptions.EvalEvery"/> steps and returns a line.
    /// </summary>
    public static RunProgress Run(RunOptions options, RunProgress start, Func<long, double, double> trainStep,
        Action<RunProgress> checkpoint, Func<long, string>? evaluate, RunLog log, CancellationToken cancel)
    {
        var schedule = LrSchedule.From(options);
        var sinceStart = Stopwatch.StartNew();
        var sinceCheckpoint = Stopwatch.StartNew();
        var window = Stopwatch.StartNew();
        long windowSteps = 0;
        double evalSeconds = 0;
        double ema = double.NaN;
        long step = start.Step, samples = start.SamplesSeen;
        double Wall() => start.WallSeconds + sinceStart.Elapsed.TotalSeconds - evalSeconds;
        log.Line($"[{options.Name}] start at step {step}/{options.Steps}, {samples} samples seen, {start.WallSeconds / 60:F1} min so far");
        while (step < options.Steps)
        {
            if (cancel.IsCancellationRequested)
            {
                log.Line($"[{options.Name}] cancelled at step {step}");
                break;
            }
            if (options.Minutes > 0 && sinceStart.Elapsed.TotalMinutes >= options.Minutes)
            {
                log.Line($"[{options.Name}] time budget of {options.Minutes} min spent at step {step}");
                break;
            }
            double lr = schedule.At(step);
            double loss = trainStep(step, lr);
            if (!double.IsFinite(loss)) throw new InvalidOperationException($"[{options.Name}] loss is {loss} at step {step}");
            step++;
            samples += options.BatchSize;
            windowSteps++;
            ema = double.IsNaN(ema) ? loss : 0.98 * ema + 0.02 * loss;
            if (step % options.LogEvery == 0 || step == options.Steps)
            {
                double stepsPerSecond = windowSteps / Math.Max(1e-9, window.Elapsed.TotalSeconds);
                double etaMinutes = (options.Steps - step) / Math.Max(1e-9, stepsPerSecond) / 60;
                log.Line(string.Create(CultureInfo.InvariantCulture,
                    $"[{options.Name}] step {step}/{options.Steps} loss {loss:F4} ema {ema:F4} lr {lr:E2} " +
                    $"{stepsPerSecond * options.BatchSize:F1} img/s {stepsPerSecond:F2} step/s samples {samples} " +
                    $"wall {Wall() / 60:F1} min eta {etaMinutes:F1} min"));
                window.Restart();
                windowSteps = 0;
            }
            if (evaluate is not null && options.EvalEvery > 0 && step % options.EvalEvery == 0 && step < options.Steps)
            {
                var t = Stopwatch.StartNew();
                log.Line($"[{options.Name}] eval at step {step}: {evaluate(step)} ({t.Elapsed.TotalSeconds:F1} s)");
                evalSeconds += t.Elapsed.TotalSeconds;
                window.Restart();
                windowSteps = 0;
            }
            if (sinceCheckpoint.Elapsed.TotalMinutes >= options.CheckpointMinutes)
            {
                checkpoint(new RunProgress(step, samples, Wall(), false));
                log.Line($"[{options.Name}] checkpoint at step {step}");
                sinceCheckpoint.Restart();
            }
        }
        var end = new RunProgress(step, samples, Wall(), step >= options.Steps);
        checkpoint(end);
        log.Line($"[{options.Name}] checkpoint at step {step} ({(end.Finished ? "finished" : "paused")}, {end.WallSeconds / 60:F1} min of training)");
        return end;
    }
}
