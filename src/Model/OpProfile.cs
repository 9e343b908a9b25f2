using System.Collections.Concurrent;
using System.Diagnostics;

namespace Var.Model;

/// <summary>
/// Wall-clock seconds per named engine operation (attention, MLP, AdaLN, head, sampler), for <c>var bench</c>'s per-op
/// profile. CPU torch operations finish before they return, so a stopwatch around them times them. Off by default: then
/// <see cref="Measure"/> reads one static flag and records nothing, and nothing it wraps changes either way.
/// </summary>
public static class OpProfile
{
    private static readonly ConcurrentDictionary<string, long> ticks = new();

    /// <summary>Whether <see cref="Measure"/> records (process-wide; the bench turns it on around its profiled run).</summary>
    public static bool Enabled { get; set; }

    /// <summary>Times the operation <paramref name="op"/> until the returned scope is disposed (when <see cref="Enabled"/>).</summary>
    public static Scope Measure(string op) => new(Enabled ? op : null);

    /// <summary>Seconds recorded per operation since the last <see cref="Reset"/>.</summary>
    public static IReadOnlyDictionary<string, double> Seconds() =>
        ticks.ToDictionary(kv => kv.Key, kv => (double)kv.Value / Stopwatch.Frequency);

    /// <summary>Forgets what was recorded.</summary>
    public static void Reset() => ticks.Clear();

    /// <summary>One timed operation.</summary>
    public readonly struct Scope : IDisposable
    {
        private readonly string? op;
        private readonly long start;

        internal Scope(string? op)
        {
            this.op = op;
            start = op is null ? 0 : Stopwatch.GetTimestamp();
        }

        /// <summary>Adds the elapsed time to the operation's total.</summary>
        public void Dispose()
        {
            if (op is null) return;
            long elapsed = Stopwatch.GetTimestamp() - start;
            ticks.AddOrUpdate(op, elapsed, (_, t) => t + elapsed);
        }
    }
}
