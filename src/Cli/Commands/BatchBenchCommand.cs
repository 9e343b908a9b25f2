using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Var.Cli.Batch;
using Var.Client;
using Var.Decoding.Sampling;
using Var.Model.Checkpoints;

namespace Var.Cli.Commands;

/// <summary>
/// <c>var bench batch</c>: the batch tool's local throughput (PNG encoding, atomic writes, fsync and manifest included)
/// against the engine's raw batched throughput for the same images, alternating in one run. Prints JSON.
/// </summary>
internal static class BatchBenchCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model folder under weights/.", DefaultValueFactory = _ => ModelLoader.DefaultModel };
        var images = new Option<int>("--images") { Description = "Images per timed run (spread over the classes).", DefaultValueFactory = _ => 640 };
        var batchSize = new Option<int>("--batch-size") { Description = "Images per forward batch, for both.", DefaultValueFactory = _ => 64 };
        var reps = new Option<int>("--reps") { Description = "Timed pairs (engine, batch), in alternating order, after one warm-up batch.", DefaultValueFactory = _ => 3 };
        var threads = new Option<int?>("--threads") { Description = "Torch intra-op threads (default: all cores)." };
        var work = new Option<string?>("--work") { Description = "Folder for the batch outputs (default: a temp folder; deleted after)." };
        var server = new Option<string?>("--server") { Description = "Server mode: time var batch --server against the same calls made straight to this service (http://HOST:PORT; e.g. one started by ./run.sh), instead of the local engine." };
        var requestSize = new Option<int>("--request-size") { Description = "Server mode: images per call, for both.", DefaultValueFactory = _ => 16 };
        var concurrency = new Option<int>("--concurrency") { Description = "Server mode: calls in flight, for both.", DefaultValueFactory = _ => 4 };
        var cmd = new Command("batch", "Benchmark var batch against the engine's raw batched throughput (or, with --server, against the service's own throughput) for the same images; prints JSON.");
        foreach (var o in new Option[] { model, images, batchSize, reps, threads, work, server, requestSize, concurrency }) cmd.Options.Add(o);
        cmd.SetAction(pr => CommandRunner.Run(() =>
        {
            int count = Math.Max(10, pr.GetValue(images)), pairs = Math.Max(1, pr.GetValue(reps));
            JsonObject result;
            if (pr.GetValue(server) is { } address)
                result = RunRemote(address, pr.GetValue(model)!, count, Math.Max(1, pr.GetValue(requestSize)), Math.Max(1, pr.GetValue(concurrency)), pairs, pr.GetValue(work));
            else
            {
                ModelArguments.ApplyThreads(pr.GetValue(threads));
                result = Run(pr.GetValue(model)!, count, Math.Max(1, pr.GetValue(batchSize)), pairs, pr.GetValue(work));
            }
            Console.WriteLine(result.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            return 0;
        }));
        return cmd;
    }

    private static JsonObject Run(string modelName, int images, int batchSize, int reps, string? workFolder) => InWorkFolder(workFolder, root =>
    {
        var source = new ModelSource { Model = modelName };
        using var model = ModelLoader.Load(source);
        var jobs = JobsFile(root, model.Classes.Count, images, out int total);
        // The same images for the raw engine: class c, seeds 1000.., the model's default settings.
        var settings = SamplingOptions.Settings(null, null, null, false, model);
        int perClass = total / model.Classes.Count;
        var requests = Enumerable.Range(0, model.Classes.Count).SelectMany(c => Enumerable.Range(0, perClass).Select(i => new SampleRequest(c, 1000 + i, settings))).ToList();
        var generator = new ImageGenerator(model);
        generator.Generate(requests.Take(batchSize).ToList());

        using var resolver = new LocalJobResolver(source);
        var plan = Plan(jobs, resolver);
        double Engine()
        {
            var clock = Stopwatch.StartNew();
            int made = 0;
            foreach (var chunk in requests.Chunk(batchSize)) made += generator.Generate(chunk).Count(i => i is not null);
            return made / clock.Elapsed.TotalSeconds;
        }
        double Batch(int rep)
        {
            var clock = Stopwatch.StartNew();
            BatchOutcome outcome;
            using (var writer = new BatchOutput(Path.Combine(root, $"out{rep}"), ShardSpec.All.ManifestName))
                outcome = LocalBatchRunner.Run(plan.Items, resolver, writer, batchSize, new NoProgress(), CancellationToken.None);
            return Checked(outcome, total) / clock.Elapsed.TotalSeconds;
        }
        var result = Alternate(reps, Engine, Batch, "engine");
        result["model"] = model.Name;
        result["images"] = total;
        result["batch_size"] = batchSize;
        result["torch_threads"] = get_num_threads();
        result["what_batch_adds"] = "jobs planning excluded; PNG encoding, temporary file + fsync + rename per image, folder fsync + manifest append + fsync per batch, on a writer thread";
        return result;
    });

    // Server mode: the same calls (images per call, calls in flight) once straight through the client, discarding the
    // images — the service's throughput for these images — and once through var batch's runner, which writes them.
    private static JsonObject RunRemote(string address, string modelName, int images, int requestSize, int concurrency, int reps, string? workFolder) => InWorkFolder(workFolder, root =>
    {
        using var client = new VarClient(address, new VarClientOptions { Timeout = TimeSpan.FromMinutes(30) });
        var listed = client.ListModelsAsync().GetAwaiter().GetResult();
        var info = listed.Models.FirstOrDefault(m => m.Name == modelName) ?? throw new ArgumentException($"--model: the server at {address} has no model '{modelName}'");
        var jobs = JobsFile(root, info.Classes.Count, images, out int total, modelName);
        var resolver = new RemoteJobResolver(listed);
        int perCall = Math.Min(requestSize, resolver.MaxImagesPerRequest);
        var plan = Plan(jobs, resolver);
        var calls = RemoteBatchRunner.Calls(plan.Items, perCall).ToList();
        double Service()
        {
            var clock = Stopwatch.StartNew();
            using var slots = new SemaphoreSlim(concurrency);
            int made = 0;
            Task.WhenAll(calls.Select(async chunk =>
            {
                await slots.WaitAsync();
                try
                {
                    var got = await client.StreamAsync(RemoteBatchRunner.Request(chunk));
                    Interlocked.Add(ref made, got.Count);
                }
                finally
                {
                    slots.Release();
                }
            })).GetAwaiter().GetResult();
            if (made != total) throw new InvalidOperationException($"the service made {made} of {total} images");
            return made / clock.Elapsed.TotalSeconds;
        }
        double Batch(int rep)
        {
            var clock = Stopwatch.StartNew();
            BatchOutcome outcome;
            using (var writer = new BatchOutput(Path.Combine(root, $"out{rep}"), ShardSpec.All.ManifestName))
                outcome = RemoteBatchRunner.RunAsync(plan.Items, client, address, writer, perCall, concurrency, new NoProgress(), CancellationToken.None).GetAwaiter().GetResult();
            return Checked(outcome, total) / clock.Elapsed.TotalSeconds;
        }
        // Warm-up: one call, so that neither side pays the channel's connection or the server's first batch.
        client.StreamAsync(RemoteBatchRunner.Request(calls[0])).GetAwaiter().GetResult();
        var result = Alternate(reps, Service, Batch, "service");
        result["server"] = address;
        result["model"] = modelName;
        result["images"] = total;
        result["images_per_call"] = perCall;
        result["calls_in_flight"] = concurrency;
        result["what_batch_adds"] = "jobs planning excluded; per image: temporary file + fsync + rename, folder fsync, manifest append + fsync (the server encodes the PNGs for both)";
        return result;
    });

    private static JsonObject InWorkFolder(string? workFolder, Func<string, JsonObject> body)
    {
        var root = workFolder ?? Path.Combine(Path.GetTempPath(), "var-bench-batch-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(root);
        try
        {
            return body(root);
        }
        finally
        {
            if (workFolder is null) Directory.Delete(root, recursive: true);
        }
    }

    // One job per class, seeds 1000.., about images in all.
    private static string JobsFile(string root, int classes, int images, out int total, string? model = null)
    {
        int perClass = (images + classes - 1) / classes;
        var jobs = Path.Combine(root, "jobs.jsonl");
        File.WriteAllLines(jobs, Enumerable.Range(0, classes).Select(c =>
        {
            var job = new JsonObject { ["class"] = c, ["count"] = perClass, ["seed"] = 1000 };
            if (model is not null) job["model"] = model;
            return job.ToJsonString();
        }));
        total = perClass * classes;
        return jobs;
    }

    private static BatchPlan Plan(string jobs, IJobResolver resolver)
    {
        var (parsed, errors) = JobFileReader.Read(jobs);
        var plan = BatchPlan.Create(parsed, errors, resolver);
        if (plan.Errors.Count > 0) throw new InvalidOperationException(string.Join("; ", plan.Errors));
        return plan;
    }

    private static int Checked(BatchOutcome outcome, int total)
    {
        if (outcome.Written != total || outcome.Failures.Count > 0) throw new InvalidOperationException($"batch wrote {outcome.Written} of {total} images");
        return outcome.Written;
    }

    // Timed pairs (reference, candidate) in alternating order (reference first, then batch first), so that a machine getting
    // busier or quieter during the run favours neither.
    internal static JsonObject Alternate(int reps, Func<double> reference, Func<int, double> batch, string name, string candidate = "batch")
    {
        var referenceRuns = new JsonArray();
        var batchRuns = new JsonArray();
        var ratios = new List<double>();
        double referenceSum = 0, batchSum = 0;
        for (int rep = 0; rep < reps; rep++)
        {
            double referenceRate, batchRate;
            if (rep % 2 == 0) (referenceRate, batchRate) = (reference(), batch(rep));
            else
            {
                batchRate = batch(rep);
                referenceRate = reference();
            }
            referenceRuns.Add(Math.Round(referenceRate, 2));
            batchRuns.Add(Math.Round(batchRate, 2));
            ratios.Add(batchRate / referenceRate);
            referenceSum += referenceRate;
            batchSum += batchRate;
        }
        ratios.Sort();
        return new JsonObject
        {
            ["cores"] = Environment.ProcessorCount,
            ["load_average_at_start"] = File.ReadAllText("/proc/loadavg").Split(' ')[0],
            [$"{name}_images_per_s"] = referenceRuns,
            [$"{candidate}_images_per_s"] = batchRuns,
            [$"{name}_mean"] = Math.Round(referenceSum / reps, 2),
            [$"{candidate}_mean"] = Math.Round(batchSum / reps, 2),
            [$"{candidate}_fraction_of_{name}"] = Math.Round(batchSum / referenceSum, 3),
            ["pair_fractions"] = new JsonArray(ratios.Select(r => (JsonNode)Math.Round(r, 3)).ToArray()),
            ["median_pair_fraction"] = Math.Round(ratios.Count % 2 == 1 ? ratios[ratios.Count / 2] : (ratios[ratios.Count / 2 - 1] + ratios[ratios.Count / 2]) / 2, 3),
        };
    }

    private sealed class NoProgress : IBatchProgress
    {
        public void Advance(int images)
        {
        }
    }
}
