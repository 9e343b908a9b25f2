using System.Diagnostics;
using System.Globalization;
using Spectre.Console;

namespace Var.Cli.Batch;

/// <summary>A Spectre.Console progress bar on the terminal (stderr) with percentage, rate and remaining time.</summary>
internal sealed class SpectreBatchProgress : IBatchProgress
{
    private readonly ProgressTask task;
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private int done;

    private SpectreBatchProgress(ProgressTask task) => this.task = task;

    /// <summary>Runs <paramref name="body"/> while the bar is shown on <paramref name="console"/>.</summary>
    public static T Run<T>(IAnsiConsole console, string title, int total, Func<IBatchProgress, T> body) =>
        console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new ElapsedTimeColumn())
            .Start(ctx => body(new SpectreBatchProgress(ctx.AddTask(title, maxValue: Math.Max(1, total)))));

    /// <inheritdoc />
    public void Advance(int images)
    {
        int now = Interlocked.Add(ref done, images);
        task.Increment(images);
        task.Description = string.Create(CultureInfo.InvariantCulture, $"{now} images, {now / Math.Max(1e-9, clock.Elapsed.TotalSeconds):F1}/s");
    }
}
