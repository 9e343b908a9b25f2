using System.Diagnostics;
using System.Globalization;

namespace Var.Cli.Batch;

/// <summary>Progress as plain lines (for logs, when the output is not a terminal): at most one every few seconds, and at the end.</summary>
internal sealed class PlainBatchProgress(TextWriter output, int total, TimeSpan every) : IBatchProgress
{
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private readonly Lock gate = new();
    private TimeSpan last = TimeSpan.Zero;
    private int done;

    /// <inheritdoc />
    public void Advance(int images)
    {
        lock (gate)
        {
            done += images;
            if (done < total && clock.Elapsed - last < every) return;
            last = clock.Elapsed;
            output.WriteLine(Line(done, total, clock.Elapsed));
        }
    }

    /// <summary>"[done/total] 45.2% 12.3 images/s ETA 38 s".</summary>
    public static string Line(int done, int total, TimeSpan elapsed)
    {
        double rate = done / Math.Max(1e-9, elapsed.TotalSeconds);
        double eta = rate > 0 ? (total - done) / rate : double.NaN;
        return string.Create(CultureInfo.InvariantCulture,
            $"[{done}/{total}] {100.0 * done / Math.Max(1, total):F1}% {rate:F1} images/s ETA {(double.IsNaN(eta) ? "?" : $"{eta:F0} s")}");
    }
}
