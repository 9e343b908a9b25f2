using System.Text.Json;
using System.Text.Json.Nodes;
using Var.Bench.Service;

// Service benchmark (DESIGN.md targets): closed-loop single-image clients at 1, 4, 16 and 64 concurrent calls against
// the real server process, next to the engine's raw batched throughput in the same run, and the server's resident
// memory before and after 1000 requests. Prints one JSON object.
// Usage: dotnet run --project bench/service -c Release -- [--threads N] [--max-batch B] [--seconds S] [--clients 1,4,16,64]
int threads = 1, maxBatch = 16;
double seconds = 8, maxWaitMs = 5;
int[] levels = [1, 4, 16, 64];
for (int i = 0; i + 1 < args.Length; i += 2)
{
    switch (args[i])
    {
        case "--threads": threads = int.Parse(args[i + 1]); break;
        case "--max-batch": maxBatch = int.Parse(args[i + 1]); break;
        case "--seconds": seconds = double.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture); break;
        case "--max-wait-ms": maxWaitMs = double.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture); break;
        case "--clients": levels = args[i + 1].Split(',').Select(int.Parse).ToArray(); break;
        default: throw new ArgumentException($"unknown option {args[i]}");
    }
}

var model = BenchModel.Resolve();
Console.Error.WriteLine($"model {model.Name} ({model.Source}); engine at batch {maxBatch}…");
var engine = EngineBench.Run(model, maxBatch, threads, seconds);
var result = new JsonObject
{
    ["model"] = new JsonObject { ["name"] = model.Name, ["source"] = model.Source, ["image_size"] = engine.ImageSize },
    ["machine"] = new JsonObject { ["cores"] = Environment.ProcessorCount, ["load_average_at_start"] = File.ReadAllText("/proc/loadavg").Split(' ')[0] },
    ["torch_threads"] = threads,
    ["max_batch"] = maxBatch,
    ["max_wait_ms"] = maxWaitMs,
    ["engine"] = new JsonObject
    {
        ["batch"] = maxBatch,
        ["images_per_s"] = Math.Round(engine.ImagesPerSecond, 2),
        ["s_per_batch"] = Math.Round(engine.SecondsPerBatch, 4),
        ["batches"] = engine.Batches,
    },
};

using (var server = await ServerProcess.StartAsync(model, threads, maxBatch, maxWaitMs))
{
    var service = new JsonArray();
    long seedBase = 0;
    foreach (int clients in levels)
    {
        Console.Error.WriteLine($"{clients} clients…");
        var r = await ClientLoad.RunAsync(server.Address, clients, requests: Math.Max(2 * clients, 16), seconds, seedBase);
        seedBase += 1_000_000;
        double ips = r.Images / r.Seconds;
        service.Add(new JsonObject
        {
            ["clients"] = clients,
            ["images"] = r.Images,
            ["seconds"] = Math.Round(r.Seconds, 2),
            ["images_per_s"] = Math.Round(ips, 2),
            ["fraction_of_engine"] = Math.Round(ips / engine.ImagesPerSecond, 3),
            ["p50_ms"] = Math.Round(r.P50Ms, 1),
            ["p99_ms"] = Math.Round(r.P99Ms, 1),
            ["mean_batch"] = Math.Round(r.MeanBatch, 2),
        });
    }
    result["service"] = service;

    Console.Error.WriteLine("memory over 1000 requests…");
    double before = server.ResidentMiB();
    var m = await ClientLoad.RunAsync(server.Address, 16, requests: 1000, seconds: 0, seedBase);
    double after = server.ResidentMiB();
    result["memory"] = new JsonObject
    {
        ["requests"] = m.Images,
        ["clients"] = 16,
        ["rss_before_mib"] = Math.Round(before, 1),
        ["rss_after_mib"] = Math.Round(after, 1),
        ["rss_growth_mib"] = Math.Round(after - before, 1),
        ["images_per_s"] = Math.Round(m.Images / m.Seconds, 2),
    };
}
result["load_average_at_end"] = File.ReadAllText("/proc/loadavg").Split(' ')[0];
Console.WriteLine(result.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
