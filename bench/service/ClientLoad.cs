using System.Diagnostics;
using Var.Client;

namespace Var.Bench.Service;

/// <summary>Closed-loop load: N clients, each sending one single-image Generate after the other.</summary>
internal static class ClientLoad
{
    /// <summary>Runs <paramref name="clients"/> clients until <paramref name="requests"/> calls are done and at least <paramref name="seconds"/> passed.</summary>
    public static async Task<(int Images, double Seconds, double P50Ms, double P99Ms, double MeanBatch)> RunAsync(string address, int clients, int requests, double seconds, long seedBase)
    {
        // No retries: a refused call must show up as a failure of the measurement, not as latency.
        using var client = new VarClient(address, new VarClientOptions { MaxAttempts = 1 });
        var latencies = new List<double>();
        long batchRows = 0;
        int started = 0;
        var clock = Stopwatch.StartNew();
        async Task Loop(int id)
        {
            while (true)
            {
                int n = Interlocked.Increment(ref started);
                if (n > requests && clock.Elapsed.TotalSeconds >= seconds) return;
                long t0 = Stopwatch.GetTimestamp();
                var images = await client.GenerateAsync(new RemoteRequest { Class = (n % 10).ToString(), Seed = seedBase + n });
                double ms = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                lock (latencies)
                {
                    latencies.Add(ms);
                    batchRows += images[0].BatchSize;
                }
            }
        }
        await Task.WhenAll(Enumerable.Range(0, clients).Select(i => Task.Run(() => Loop(i))));
        double wall = clock.Elapsed.TotalSeconds;
        latencies.Sort();
        double Percentile(double p) => latencies[Math.Min(latencies.Count - 1, (int)Math.Ceiling(p * latencies.Count) - 1)];
        return (latencies.Count, wall, Percentile(0.50), Percentile(0.99), (double)batchRows / latencies.Count);
    }
}
