using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Spectre.Console;
using Var.Cli.Batch;
using Var.Client;

namespace Var.Cli.Commands;

/// <summary>
/// <c>var batch JOBS.jsonl --out DIR</c>: a jobs file (one JSON job a line) into images and manifest lines, on the
/// local engine or a server, resumable (a rerun makes only what the manifest lacks) and shardable.
/// </summary>
internal static class BatchCommand
{
    public static Command Create()
    {
        var models = new ModelArguments();
        var jobsFile = new Argument<string>("jobs") { Description = "Jobs file: one JSON object a line, e.g. {\"class\": \"coat\", \"count\": 100, \"seed\": 1000} (fields: model, class, count, seed or seeds, cfg, top_k, top_p, more_smooth, decoder, draft_scales, refiner, refiner_cfg, temperatures, name; edits: image, mask or box, mode, feather)." };
        var output = new Option<string>("--out") { Description = "Output folder: PNGs plus manifest.jsonl (manifest-shard<I>-of<N>.jsonl per shard); a rerun skips what any manifest there holds.", Required = true };
        var remote = new ServerArguments("Run on a generation service instead of the local engine.");
        var shard = new Option<string?>("--shard") { Description = $"Make only shard I of N (0-based, I/N; images are split by a hash of their file name). Default: ${ShardSpec.IndexVariable} with ${ShardSpec.CountVariable}, else everything." };
        var strict = new Option<bool>("--strict") { Description = "Stop before any work when a job line is malformed (default: report it and run the others)." };
        var dryRun = new Option<bool>("--dry-run") { Description = "Print the plan (images per job and per shard, already done, to make) and make nothing." };
        var batchSize = new Option<int>("--batch-size") { Description = "Local engine: images per forward batch (results do not depend on it).", DefaultValueFactory = _ => 64 };
        var requestSize = new Option<int>("--request-size") { Description = "Server: images per call (at most the server's limit).", DefaultValueFactory = _ => 16 };
        var concurrency = new Option<int>("--concurrency") { Description = "Server: calls in flight at once.", DefaultValueFactory = _ => 4 };
        var timeout = new Option<double>("--timeout") { Description = "Server: deadline of each call in seconds, its retries included.", DefaultValueFactory = _ => 600 };
        var attempts = new Option<int>("--attempts") { Description = "Server: attempts per call on UNAVAILABLE / RESOURCE_EXHAUSTED (exponential backoff with jitter).", DefaultValueFactory = _ => 6 };
        var cmd = new Command("batch", "Make the images of a jobs file (JSON lines) into a folder with a manifest: local or on a server, resumable (nothing lost, nothing twice), shardable.");
        cmd.Arguments.Add(jobsFile);
        models.AddTo(cmd);
        remote.AddTo(cmd);
        foreach (var o in new Option[] { output, shard, strict, dryRun, batchSize, requestSize, concurrency, timeout, attempts }) cmd.Options.Add(o);
        cmd.SetAction((pr, ct) => Task.FromResult(CommandRunner.Run(() =>
        {
            int batch = pr.GetValue(batchSize), perCall = pr.GetValue(requestSize), inFlight = pr.GetValue(concurrency);
            if (batch < 1 || batch > 1024) throw new ArgumentException("--batch-size must be in 1..1024");
            if (perCall < 1 || inFlight < 1) throw new ArgumentException("--request-size and --concurrency must be ≥ 1");
            var settings = new BatchSettings
            {
                JobsFile = pr.GetValue(jobsFile)!,
                Output = pr.GetValue(output)!,
                Shard = ShardSpec.Resolve(pr.GetValue(shard), Environment.GetEnvironmentVariable),
                Strict = pr.GetValue(strict),
                DryRun = pr.GetValue(dryRun),
                BatchSize = batch,
                RequestSize = perCall,
                Concurrency = inFlight,
            };
            if (pr.GetValue(remote.Server) is { } address)
            {
                var options = remote.ClientOptions(pr, new VarClientOptions { MaxAttempts = Math.Max(1, pr.GetValue(attempts)), Timeout = TimeSpan.FromSeconds(pr.GetValue(timeout)) });
                using var client = new VarClient(address, options);
                return RunRemote(settings, client, address, ct);
            }
            ModelArguments.ApplyThreads(pr.GetValue(models.Threads));
            return RunLocal(settings, models.Source(pr), ct);
        })));
        return cmd;
    }

    /// <summary>The batch on the local engine; returns the exit code.</summary>
    internal static int RunLocal(BatchSettings settings, Var.Model.Checkpoints.ModelSource defaults, CancellationToken ct)
    {
        var (jobs, readErrors) = JobFileReader.Read(settings.JobsFile);
        using var resolver = new LocalJobResolver(defaults);
        return Run(settings, BatchPlan.Create(jobs, readErrors, resolver), "local engine", (items, output, progress) =>
            LocalBatchRunner.Run(items, resolver, output, settings.BatchSize, progress, ct));
    }

    /// <summary>The batch on a server through <paramref name="client"/>; returns the exit code.</summary>
    internal static int RunRemote(BatchSettings settings, VarClient client, string address, CancellationToken ct)
    {
        var (jobs, readErrors) = JobFileReader.Read(settings.JobsFile);
        ListModelsResponseOrThrow(client, ct, out var listed);
        var resolver = new RemoteJobResolver(listed);
        int perCall = Math.Min(settings.RequestSize, resolver.MaxImagesPerRequest);
        return Run(settings, BatchPlan.Create(jobs, readErrors, resolver), address, (items, output, progress) =>
            RemoteBatchRunner.RunAsync(items, client, address, output, perCall, settings.Concurrency, progress, ct).GetAwaiter().GetResult());
    }

    // A server still loading its models lists none yet (and answers UNAVAILABLE, which the client retries): wait up to a minute.
    private static void ListModelsResponseOrThrow(VarClient client, CancellationToken ct, out Var.Service.V1.ListModelsResponse listed)
    {
        var until = DateTime.UtcNow.AddMinutes(1);
        try
        {
            while (true)
            {
                listed = client.ListModelsAsync(ct).GetAwaiter().GetResult();
                if (listed.Models.Any(m => m.Ready) || DateTime.UtcNow > until) return;
                Task.Delay(200, ct).GetAwaiter().GetResult();
            }
        }
        catch (RemoteGenerationException e)
        {
            throw new InvalidOperationException(e.Message, e);
        }
    }

    private static int Run(BatchSettings settings, BatchPlan plan, string where, Func<IReadOnlyList<BatchItem>, BatchOutput, IBatchProgress, BatchOutcome> body)
    {
        foreach (var e in plan.Errors) Console.Error.WriteLine($"{settings.JobsFile}:{e.Line}: {e.Message}");
        if (settings.Strict && plan.Errors.Count > 0)
        {
            Console.Error.WriteLine($"error: --strict: {plan.Errors.Count} job line(s) cannot run (lines {string.Join(", ", plan.Errors.Select(e => e.Line))}); nothing was made");
            return 2;
        }
        var done = BatchOutput.DoneFiles(settings.Output);
        var mine = plan.ItemsOf(settings.Shard);
        var pending = mine.Where(i => !done.Contains(i.File)).ToList();
        if (settings.DryRun)
        {
            PrintPlan(settings, plan, done);
            return plan.Errors.Count > 0 ? 1 : 0;
        }
        var clock = Stopwatch.StartNew();
        BatchOutcome outcome;
        using (var output = new BatchOutput(settings.Output, settings.Shard.ManifestName))
        {
            foreach (var item in pending) output.RemoveLeftover(item.File);
            string title = $"batch {Path.GetFileName(settings.JobsFile)} (shard {settings.Shard})";
            outcome = Console.IsErrorRedirected
                ? body(pending, output, new PlainBatchProgress(Console.Error, pending.Count, TimeSpan.FromSeconds(5)))
                : SpectreBatchProgress.Run(AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) }), title, pending.Count,
                    progress => body(pending, output, progress));
        }
        double seconds = clock.Elapsed.TotalSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"batch {settings.JobsFile} on {where}, shard {settings.Shard}: {mine.Count} images in this shard, {mine.Count - pending.Count} already in the manifest, {outcome.Written} written, {pending.Count - outcome.Written} not written; {seconds:F1} s ({outcome.Written / Math.Max(1e-9, seconds):F2} images/s) → {settings.Output}"));
        var byLine = pending.GroupBy(i => i.Job.Line).ToDictionary(g => g.Key, g => g.Count());
        foreach (var (line, message) in outcome.Failures)
            Console.WriteLine($"failed: line {line} ({byLine.GetValueOrDefault(line)} images): {message}");
        if (plan.Errors.Count > 0) Console.WriteLine($"not run: lines {string.Join(", ", plan.Errors.Select(e => e.Line))} (malformed; see above)");
        var failed = outcome.Failures.Keys.Concat(plan.Errors.Select(e => e.Line)).Distinct().Order().ToList();
        if (failed.Count == 0) return 0;
        Console.Error.WriteLine($"error: job lines {string.Join(", ", failed)} failed");
        return 1;
    }

    private static void PrintPlan(BatchSettings settings, BatchPlan plan, HashSet<string> done)
    {
        var n = settings.Shard.Count;
        Console.WriteLine($"plan for {settings.JobsFile} → {settings.Output}: {plan.Jobs.Count} jobs, {plan.Items.Count} images, {plan.Errors.Count} malformed lines; this worker: shard {settings.Shard}");
        var byJob = plan.Items.ToLookup(i => i.Job.Line);
        foreach (var job in plan.Jobs)
        {
            var items = byJob[job.Line].ToList();
            var perShard = Enumerable.Range(0, n).Select(s => items.Count(i => new ShardSpec(s, n).Holds(i.File)));
            var mine = items.Where(i => settings.Shard.Holds(i.File)).ToList();
            Console.WriteLine($"  line {job.Line}: {items.Count} images ({(job.IsEdit ? "edit" : "generate")}, class {job.Class ?? "none"}, model {job.Model ?? "default"}, decoder {job.Decoder.Kind ?? "the model's default"}); per shard {string.Join(" / ", perShard)}; this shard {mine.Count}, done {mine.Count(i => done.Contains(i.File))}, to make {mine.Count(i => !done.Contains(i.File))}");
        }
        for (int s = 0; s < n; s++)
        {
            var shard = new ShardSpec(s, n);
            var items = plan.Items.Where(i => shard.Holds(i.File)).ToList();
            Console.WriteLine($"  shard {shard}: {items.Count} images, {items.Count(i => done.Contains(i.File))} done, {items.Count(i => !done.Contains(i.File))} to make");
        }
    }
}
