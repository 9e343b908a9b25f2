using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Options;
using Var.Decoding.Decoders;
using Var.Decoding.Editing;
using Var.Decoding.Sampling;
using Var.Service.Hosting;
using Var.Service.Metrics;
using Var.Service.Models;
using Var.Service.Options;
using Var.Service.Validation;
using static TorchSharp.torch;

namespace Var.Service.Scheduling;

/// <summary>
/// Owns the loaded models and runs all torch work on one dedicated thread (dispose scopes are thread-local and a
/// decoding session runs at a time). Requests wait in a bounded queue of images; images of the same model whose
/// decoders give the same <see cref="IDecoder.BatchKey"/> are batched dynamically (settings and seeds are per row, so
/// such requests may share a batch and an image does not depend on its batch-mates). The scheduler knows no decoder
/// type: it runs whatever plan the batch's decoder makes. A cancelled call's rows leave the running batch at the next
/// scale. Refusals and failures are <see cref="SchedulingException"/>s, mapped to status codes by the gRPC layer.
/// </summary>
public sealed class GenerationScheduler : BackgroundService, IHostedLifecycleService
{
    private readonly object gate = new();
    private readonly LinkedList<ImageJob> queue = new();
    private readonly ConcurrentDictionary<string, GenerationTicket> active = new(StringComparer.Ordinal);
    private readonly Dictionary<string, LoadedModel> models = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource abort = new();
    private readonly TaskCompletionSource finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SchedulerOptions options;
    private readonly ModelOptions modelOptions;
    private readonly ServerOptions serverOptions;
    private readonly IModelProvider provider;
    private readonly ServingState state;
    private readonly ServiceMetrics metrics;
    private readonly IHostApplicationLifetime lifetime;
    private readonly ILogger<GenerationScheduler> logger;
    private IReadOnlyList<LoadedModel> modelList = [];
    private int running;
    private long queuedRows;
    private bool stopping;

    /// <summary>Creates the scheduler; models load when the host starts it.</summary>
    public GenerationScheduler(IOptions<SchedulerOptions> options, IOptions<ModelOptions> modelOptions, IOptions<ServerOptions> serverOptions,
        IModelProvider provider, ServingState state, ServiceMetrics metrics, IHostApplicationLifetime lifetime, ILogger<GenerationScheduler> logger)
    {
        this.options = options.Value;
        this.modelOptions = modelOptions.Value;
        this.serverOptions = serverOptions.Value;
        this.provider = provider;
        this.state = state;
        this.metrics = metrics;
        this.lifetime = lifetime;
        this.logger = logger;
    }

    /// <summary>
    /// Runs on the torch thread after every scale of every batch (tests and diagnostics). Keep it short: the batch
    /// waits for it.
    /// </summary>
    public event Action<BatchScaleInfo>? AfterScale;

    /// <summary>The loaded models (empty until loading finished), the default first.</summary>
    public IReadOnlyList<LoadedModel> Models => Volatile.Read(ref modelList);

    /// <summary>The default model's name.</summary>
    public string DefaultModel => modelOptions.Default;

    /// <summary>Images waiting in the queue.</summary>
    public int QueuedImages
    {
        get
        {
            lock (gate) return queue.Count;
        }
    }

    /// <summary>Images in running batches.</summary>
    public int RunningImages => Volatile.Read(ref running);

    /// <summary>The model a request names (empty = default), or null when not loaded.</summary>
    public LoadedModel? FindModel(string name)
    {
        var key = string.IsNullOrEmpty(name) ? modelOptions.Default : name;
        lock (models) return models.GetValueOrDefault(key);
    }

    /// <summary>The accepted, unfinished request with this id, if any.</summary>
    public GenerationTicket? FindActive(string requestId) => active.GetValueOrDefault(requestId);

    /// <summary>
    /// Queues a validated request. Throws <see cref="SchedulingException"/> (unavailable while loading or draining,
    /// queue full when its images do not fit). The ticket's stream ends with a cancelled (or deadline-exceeded when
    /// <paramref name="deadline"/> is due) error when <paramref name="call"/> fires.
    /// </summary>
    public GenerationTicket Submit(GenerationPlan plan, CancellationToken call, DateTime deadline)
    {
        if (state.IsDraining) throw new SchedulingException(SchedulingError.Unavailable, "the server is shutting down; retry on another instance");
        if (!state.IsReady) throw new SchedulingException(SchedulingError.Unavailable, state.Failure ?? "the model is still loading; retry shortly");
        var ticket = new GenerationTicket(plan, call, deadline, abort.Token);
        var nodes = new List<LinkedListNode<ImageJob>>(plan.Images.Count);
        int rows = plan.RowsPerImage;
        lock (gate)
        {
            if (queue.Count + plan.Images.Count > options.MaxQueuedImages)
            {
                ticket.Dispose();
                throw new SchedulingException(SchedulingError.QueueFull,
                    $"the queue is full ({queue.Count} of {options.MaxQueuedImages} images waiting, this request needs {plan.Images.Count}); retry later");
            }
            if (queuedRows + (long)rows * plan.Images.Count > options.MaxQueuedRows)
            {
                ticket.Dispose();
                throw new SchedulingException(SchedulingError.QueueFull,
                    $"the queue is full ({queuedRows} of {options.MaxQueuedRows} candidate rows waiting, this request needs {(long)rows * plan.Images.Count}); retry later");
            }
            ticket.Position = queue.Count;
            long now = Stopwatch.GetTimestamp();
            foreach (var spec in plan.Images) nodes.Add(queue.AddLast(new ImageJob(ticket, spec, now, rows)));
            queuedRows += (long)rows * plan.Images.Count;
            ticket.QueueDepth = queue.Count;
            active[plan.RequestId] = ticket;
            PublishQueue();
            Monitor.PulseAll(gate);
        }
        // Registered outside the lock: a token that has already fired runs the callback at once.
        ticket.Token.Register(() => Withdraw(ticket, nodes));
        return ticket;
    }

    /// <summary>Forgets a finished request (call when its call ends).</summary>
    public void Release(GenerationTicket ticket)
    {
        active.TryRemove(new KeyValuePair<string, GenerationTicket>(ticket.RequestId, ticket));
        ticket.Dispose();
    }

    private void Withdraw(GenerationTicket ticket, List<LinkedListNode<ImageJob>> nodes)
    {
        lock (gate)
        {
            foreach (var node in nodes)
            {
                if (node.List != queue) continue;
                queue.Remove(node);
                queuedRows -= node.Value.Rows;
            }
            PublishQueue();
            Monitor.PulseAll(gate);
        }
        ticket.Fail(ticket.CancellationError());
    }

    /// <inheritdoc />
    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        lifetime.ApplicationStopping.Register(BeginDrain);
        var thread = new Thread(Run) { IsBackground = true, Name = "var-torch" };
        thread.Start();
        return finished.Task;
    }

    /// <summary>Stops taking work (health NOT_SERVING, new calls UNAVAILABLE) and gives what is left the grace period.</summary>
    public void BeginDrain()
    {
        if (state.IsDraining) return;
        state.BeginDrain();
        int queued, inFlight;
        lock (gate)
        {
            queued = queue.Count;
            inFlight = running;
        }
        logger.LogInformation("Draining: {Queued} images queued and {Running} running get {Grace} s to finish", queued, inFlight, serverOptions.DrainGraceSeconds);
        try
        {
            abort.CancelAfter(TimeSpan.FromSeconds(serverOptions.DrainGraceSeconds));
        }
        catch (ObjectDisposedException)
        {
            // Already stopped.
        }
    }

    /// <summary>
    /// Drains before any hosted service stops, Kestrel included (the host calls every StoppingAsync first): while the
    /// queue empties the ports still accept connections, so liveness stays SERVING and readiness reads NOT_SERVING.
    /// </summary>
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        BeginDrain();
        // Wait until the queue is empty and no batch runs, or until the grace period gives up on the rest.
        while (!abort.IsCancellationRequested && !cancellationToken.IsCancellationRequested && !finished.Task.IsCompleted)
        {
            lock (gate)
            {
                if (queue.Count == 0 && running == 0) break;
            }
            await Task.Delay(20, CancellationToken.None);
        }
    }

    /// <inheritdoc />
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await StoppingAsync(cancellationToken); // a no-op wait when the host already called it
        lock (gate)
        {
            stopping = true;
            Monitor.PulseAll(gate);
        }
        if (!abort.IsCancellationRequested) await abort.CancelAsync();
        await Task.WhenAny(finished.Task, Task.Delay(TimeSpan.FromSeconds(10), CancellationToken.None));
        await base.StopAsync(cancellationToken);
    }

    /// <inheritdoc />
    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public override void Dispose()
    {
        base.Dispose();
        abort.Dispose();
    }

    private void Run()
    {
        try
        {
            if (!LoadModels()) return;
            state.MarkReady();
            while (NextBatch() is { } batch)
            {
                try
                {
                    RunBatch(batch.Model, batch.Decoder, batch.Jobs);
                }
                finally
                {
                    lock (gate)
                    {
                        running -= batch.Jobs.Count;
                        PublishQueue();
                    }
                }
            }
        }
        catch (Exception e)
        {
            logger.LogCritical(e, "The scheduler thread failed");
            state.MarkFailed($"the scheduler failed: {e.Message}");
            Environment.ExitCode = 1;
            StopWhenStarted();
        }
        finally
        {
            lock (models)
            {
                foreach (var m in models.Values) m.Model.Dispose();
                models.Clear();
            }
            finished.TrySetResult();
        }
    }

    private bool LoadModels()
    {
        if (modelOptions.Threads > 0) set_num_threads(modelOptions.Threads);
        var loaded = new List<LoadedModel>();
        foreach (var name in modelOptions.Names())
        {
            var clock = Stopwatch.StartNew();
            try
            {
                var model = new LoadedModel(name, provider.Load(name));
                lock (models) models[name] = model;
                loaded.Add(model);
                WarmUp(model);
                logger.LogInformation("Loaded model {Model}: {Size}x{Size} images, {Classes} classes, scales [{Scales}], {Device}/{DType}, in {Seconds:F1} s",
                    name, model.ImageSize, model.ImageSize, model.ClassNames.Count, string.Join(",", model.PatchNums), model.Device, model.DType, clock.Elapsed.TotalSeconds);
            }
            catch (Exception e)
            {
                logger.LogCritical("Cannot load model {Model}: {Error}", name, e.Message);
                state.MarkFailed($"model '{name}' failed to load: {e.Message}");
                Environment.ExitCode = 1;
                StopWhenStarted();
                return false;
            }
        }
        Volatile.Write(ref modelList, loaded);
        return true;
    }

    // Stopping while the host is still starting makes it throw; stop once it has started (at once if it has).
    private void StopWhenStarted() => lifetime.ApplicationStarted.Register(lifetime.StopApplication);

    private static void WarmUp(LoadedModel model)
    {
        // One image so that the first request does not pay for lazy initialisation.
        new ImageGenerator(model.Model).Generate([new SampleRequest(0, 0, model.Defaults)]);
    }

    private (LoadedModel Model, IDecoder Decoder, List<ImageJob> Jobs)? NextBatch()
    {
        lock (gate)
        {
            while (true)
            {
                while (queue.Count == 0 && !stopping) Monitor.Wait(gate);
                if (queue.Count == 0) return null;
                var first = queue.First!.Value;
                // Hold the batch open until it is full or the oldest image has waited MaxWaitMs.
                while (!stopping && !BatchFull(first))
                {
                    var left = TimeSpan.FromMilliseconds(options.MaxWaitMs) - Stopwatch.GetElapsedTime(first.EnqueuedAt);
                    if (left <= TimeSpan.Zero) break;
                    Monitor.Wait(gate, left);
                    if (queue.First is null) break;
                    first = queue.First.Value;
                }
                if (queue.Count == 0) continue;
                var jobs = new List<ImageJob>(options.MaxBatchSize);
                int rows = 0;
                for (var node = queue.First; node is not null && jobs.Count < options.MaxBatchSize;)
                {
                    var next = node.Next;
                    // Rows bound the batch too: a search's images take their candidates' share (the first always fits).
                    if (SameBatch(node.Value, first) && (jobs.Count == 0 || rows + node.Value.Rows <= options.MaxBatchRows))
                    {
                        jobs.Add(node.Value);
                        rows += node.Value.Rows;
                        queuedRows -= node.Value.Rows;
                        queue.Remove(node);
                    }
                    else if (rows >= options.MaxBatchRows) break;
                    node = next;
                }
                running += jobs.Count;
                PublishQueue();
                return (first.Ticket.Plan.Model, first.Ticket.Plan.Decoder, jobs);
            }
        }
    }

    // Whether the images like the first already fill a batch (by images or by rows).
    private bool BatchFull(ImageJob first)
    {
        int n = 0, rows = 0;
        foreach (var job in queue)
        {
            if (!SameBatch(job, first)) continue;
            if (++n >= options.MaxBatchSize || (rows += job.Rows) >= options.MaxBatchRows) return true;
        }
        return false;
    }

    // Images may share a batch when they are for the same model and their decoders say so.
    private static bool SameBatch(ImageJob a, ImageJob b) =>
        ReferenceEquals(a.Ticket.Plan.Model, b.Ticket.Plan.Model)
        && string.Equals(a.Ticket.Plan.Decoder.BatchKey, b.Ticket.Plan.Decoder.BatchKey, StringComparison.Ordinal);

    private void PublishQueue() => metrics.SetQueue(queue.Count, running);

    private void RunBatch(LoadedModel model, IDecoder decoder, List<ImageJob> jobs)
    {
        long started = Stopwatch.GetTimestamp();
        var queueMs = jobs.Select(j => Stopwatch.GetElapsedTime(j.EnqueuedAt, started).TotalMilliseconds).ToArray();
        foreach (var ms in queueMs) metrics.QueueWaited(ms);
        metrics.BatchStarted(model.Name, jobs.Count);
        var generator = new ImageGenerator(model.Model, decoder);
        List<SampleRequest> requests;
        try
        {
            requests = Requests(model, jobs);
        }
        catch (Exception e) when (e is ArgumentException)
        {
            var error = new SchedulingException(SchedulingError.Failed, $"edit input failed: {e.Message}", e);
            foreach (var ticket in jobs.Select(j => j.Ticket).Distinct()) ticket.Fail(error);
            return;
        }
        var previousElapsed = TimeSpan.Zero;
        IReadOnlyList<GeneratedImage?> results;
        try
        {
            results = generator.Generate(requests, CancellationToken.None, p =>
            {
                // A pass inside a scale (HMAR's masked steps) only reports progress; the scale's metrics and hooks run once it is finished.
                if (!p.ScaleFinished)
                {
                    PublishProgress(model, jobs, p);
                    return;
                }
                metrics.ScaleDone(model.Name, p.Scale, (p.Elapsed - previousElapsed).TotalMilliseconds);
                previousElapsed = p.Elapsed;
                PublishProgress(model, jobs, p);
                AfterScale?.Invoke(new BatchScaleInfo(model.Name, p.Scale, p.NumScales, p.Rows.Distinct().Select(r => jobs[r].Ticket.RequestId).ToArray(), p.Elapsed));
            });
        }
        catch (Exception e)
        {
            logger.LogError(e, "Batch of {Rows} images for {Model} ({Decoder}) failed", jobs.Count, model.Name, decoder.Kind);
            var error = new SchedulingException(SchedulingError.Failed, $"generation failed: {e.Message}", e);
            foreach (var ticket in jobs.Select(j => j.Ticket).Distinct()) ticket.Fail(error);
            return;
        }
        double generationMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        int made = 0;
        for (int i = 0; i < jobs.Count; i++)
        {
            if (results[i] is not { } image) continue;
            made++;
            jobs[i].Ticket.CompleteImage(new ImageCompleted(jobs[i].Spec.Index, image, queueMs[i], generationMs, jobs.Count));
        }
        metrics.ImagesGenerated(model.Name, made);
        logger.LogInformation("Batch of {Rows} images for {Model} ({Decoder}; {Requests}) took {Milliseconds:F0} ms; {Dropped} rows left early",
            jobs.Count, model.Name, decoder.BatchKey, string.Join(",", jobs.Select(j => j.Ticket.RequestId).Distinct()), generationMs, jobs.Count - made);
    }

    // The batch's rows; an edit's image is tokenised here, on the torch thread, once per request.
    private static List<SampleRequest> Requests(LoadedModel model, List<ImageJob> jobs)
    {
        var targets = new Dictionary<EditSource, EditTarget>(ReferenceEqualityComparer.Instance);
        return jobs.Select(j =>
        {
            EditTarget? edit = null;
            if (j.Spec.Edit is { } source && !targets.TryGetValue(source, out edit))
                targets[source] = edit = EditTarget.FromImage(model.Model, source.Rgb, source.Regenerate).WithFeather(source.Rgb, source.Regenerate, source.Feather);
            return new SampleRequest(j.Spec.ClassId, j.Spec.Seed, j.Spec.Settings) { Cancellation = j.Ticket.Token, Edit = edit };
        }).ToList();
    }

    private static void PublishProgress(LoadedModel model, List<ImageJob> jobs, ScaleProgress p)
    {
        // Session row i belongs to jobs[p.Rows[i]]; group the rows by request.
        var byTicket = new Dictionary<GenerationTicket, List<int>>();
        for (int i = 0; i < p.Rows.Count; i++)
        {
            var ticket = jobs[p.Rows[i]].Ticket;
            if (ticket.IsCancelled) continue;
            if (!byTicket.TryGetValue(ticket, out var rows)) byTicket[ticket] = rows = [];
            rows.Add(i);
        }
        if (byTicket.Count == 0) return;
        // Previews show f̂, which changes only when a scale is finished: none for the passes inside a scale.
        var previewRows = byTicket.Where(kv => kv.Key.Plan.Preview && p.ScaleFinished).SelectMany(kv => kv.Value.GroupBy(r => p.Rows[r]).Select(g => g.First())).ToArray();
        var previews = new Dictionary<int, byte[]>();
        if (previewRows.Length > 0)
        {
            var rgb = p.Session.PreviewImages(previewRows);
            for (int k = 0; k < previewRows.Length; k++) previews[previewRows[k]] = rgb[k];
        }
        foreach (var (ticket, rows) in byTicket)
        {
            // A search holds several candidate rows per image: one entry per image, its first candidate previewed.
            var perImage = rows.GroupBy(r => p.Rows[r]).ToArray();
            var indices = perImage.Select(g => jobs[g.Key].Spec.Index).ToArray();
            var candidates = perImage.Select(g => g.Count()).ToArray();
            var rgb = ticket.Plan.Preview && p.ScaleFinished ? perImage.Select(g => previews[g.First()]).ToArray() : null;
            ticket.Publish(new ScaleCompleted(p.Scale, p.NumScales, p.TokensDone, p.TokensTotal, p.Elapsed, indices, rgb, model.ImageSize)
            {
                Candidates = candidates,
                Step = p.Step,
                NumSteps = p.Steps,
            });
        }
    }
}
