using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Var.Cli.Batch;
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
        var cmd = new Command("batch", "Benchmark var batch on the local engine against the engine's raw batched throughput for the same images; prints JSON.");
        foreach (var o in new Option[] { model, images, batchSize, reps, threads, work }) cmd.Options.Add(o);
        cmd.SetAction(pr => CommandRunner.Run(() =>
        {
            ModelArguments.ApplyThreads(pr.GetValue(threads));
            var result = Run(pr.GetValue(model)!, Math.Max(10, pr.GetValue(images)), Math.Max(1, pr.GetValue(batchSize)), Math.Max(1, pr.GetValue(reps)), pr.GetValue(work));
            Console.WriteLine(result.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            return 0;
        }));
        return cmd;
    }

    private static JsonObject Run(string modelName, int images, int batchSize, int reps, string? workFolder)
    {
        var source = new ModelSource { Model = modelName };
        var root = workFolder ?? Path.Combine(Path.GetTempPath(), "var-bench-batch-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(root);
        try
        {
            using var model = ModelLoader.Load(source);
            int classes = model.Classes.Count;
            int perClass = (images + classes - 1) / classes;
            var jobs = Path.Combine(root, "jobs.jsonl");
            File.WriteAllLines(jobs, Enumerable.Range(0, classes).Select(c => new JsonObject { ["class"] = c, ["count"] = perClass, ["seed"] = 1000 }.ToJsonString()));
            int total = perClass * classes;
            // The same images for the raw engine: class c, seeds 1000.., the model's default settings.
            var settings = SamplingOptions.Settings(null, null, null, false, model);
            var requests = Enumerable.Range(0, classes).SelectMany(c => Enumerable.Range(0, perClass).Select(i => new SampleRequest(c, 1000 + i, settings))).ToList();
            var generator = new ImageGenerator(model);
            generator.Generate(requests.Take(batchSize).ToList());

            using var resolver = new LocalJobResolver(source);
            var (parsed, errors) = JobFileReader.Read(jobs);
            var plan = BatchPlan.Create(parsed, errors, resolver);
            if (plan.Errors.Count > 0) throw new InvalidOperationException(string.Join("; ", plan.Errors));
            var engineRuns = new JsonArray();
            var batchRuns = new JsonArray();
            var ratios = new List<double>();
            double engineSum = 0, batchSum = 0;
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
                double rate = outcome.Written / clock.Elapsed.TotalSeconds;
                if (outcome.Written != total || outcome.Failures.Count > 0) throw new InvalidOperationException($"batch wrote {outcome.Written} of {total} images");
                return rate;
            }
            for (int rep = 0; rep < reps; rep++)
            {
                // Pairs in alternating order (engine first, then batch first), so that a machine getting busier or
                // quieter during the run favours neither.
                double engineRate, batchRate;
                if (rep % 2 == 0) (engineRate, batchRate) = (Engine(), Batch(rep));
                else
                {
                    batchRate = Batch(rep);
                    engineRate = Engine();
                }
                engineRuns.Add(Math.Round(engineRate, 2));
                batchRuns.Add(Math.Round(batchRate, 2));
                ratios.Add(batchRate / engineRate);
                engineSum += engineRate;
                batchSum += batchRate;
            }
            ratios.Sort();
            return new JsonObject
            {
                ["model"] = model.Name,
                ["images"] = total,
                ["batch_size"] = batchSize,
                ["torch_threads"] = get_num_threads(),
                ["cores"] = Environment.ProcessorCount,
                ["load_average_at_start"] = File.ReadAllText("/proc/loadavg").Split(' ')[0],
                ["engine_images_per_s"] = engineRuns,
                ["batch_images_per_s"] = batchRuns,
                ["engine_mean"] = Math.Round(engineSum / reps, 2),
                ["batch_mean"] = Math.Round(batchSum / reps, 2),
                ["batch_fraction_of_engine"] = Math.Round(batchSum / engineSum, 3),
                ["pair_fractions"] = new JsonArray(ratios.Select(r => (JsonNode)Math.Round(r, 3)).ToArray()),
                ["median_pair_fraction"] = Math.Round(ratios.Count % 2 == 1 ? ratios[ratios.Count / 2] : (ratios[ratios.Count / 2 - 1] + ratios[ratios.Count / 2]) / 2, 3),
                ["what_batch_adds"] = "jobs planning excluded; PNG encoding, temporary file + fsync + rename per image, manifest append + fsync per batch, on a writer thread",
            };
        }
        finally
        {
            if (workFolder is null) Directory.Delete(root, recursive: true);
        }
    }

    private sealed class NoProgress : IBatchProgress
    {
        public void Advance(int images)
        {
        }
    }
}
