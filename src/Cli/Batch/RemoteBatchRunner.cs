using Var.Cli.Commands;
using Var.Client;

namespace Var.Cli.Batch;

/// <summary>
/// Runs a batch against a server: each job's pending images go out in requests of explicit seeds, several calls at
/// once; every image is written as it arrives. Retries with backoff and jitter on UNAVAILABLE / RESOURCE_EXHAUSTED are
/// the client's (its channel's retry policy); a call that still fails fails its job, and the others go on.
/// </summary>
internal static class RemoteBatchRunner
{
    /// <summary>Makes <paramref name="items"/> into <paramref name="output"/> through <paramref name="client"/>.</summary>
    public static async Task<BatchOutcome> RunAsync(IReadOnlyList<BatchItem> items, VarClient client, string server, BatchOutput output,
        int requestSize, int concurrency, IBatchProgress progress, CancellationToken cancellation)
    {
        var outcome = new BatchOutcome();
        using var slots = new SemaphoreSlim(concurrency);
        var calls = Calls(items, requestSize).Select(async chunk =>
        {
            await slots.WaitAsync(cancellation);
            try
            {
                if (outcome.Failures.ContainsKey(chunk[0].Job.Line)) return;
                await CallAsync(chunk, client, server, output, outcome, progress, cancellation);
            }
            catch (RemoteGenerationException e) when (!cancellation.IsCancellationRequested)
            {
                outcome.Fail(chunk[0].Job.Line, e.Message);
            }
            catch (Exception e) when (e is ArgumentException or IOException)
            {
                outcome.Fail(chunk[0].Job.Line, e.Message);
            }
            finally
            {
                slots.Release();
            }
        }).ToList();
        await Task.WhenAll(calls);
        return outcome;
    }

    private static async Task CallAsync(BatchItem[] chunk, VarClient client, string server, BatchOutput output, BatchOutcome outcome,
        IBatchProgress progress, CancellationToken cancellation)
    {
        var job = chunk[0].Job;
        var request = Request(chunk);
        void Write(RemoteImage image)
        {
            if (image.Index < 0 || image.Index >= chunk.Length) throw new InvalidOperationException($"the server answered image index {image.Index} for a request of {chunk.Length}");
            var item = chunk[image.Index];
            output.Write([(item.File, image.Data, ManifestLines.Remote(item.File, image, server).WithJob(job))]);
            outcome.AddWritten(1);
            progress.Advance(1);
        }
        if (!job.IsEdit)
        {
            await client.StreamAsync(request, null, cancellation, Write);
            return;
        }
        var edit = new RemoteEdit
        {
            Generation = request,
            Image = await File.ReadAllBytesAsync(job.Image!, cancellation),
            Mask = job.Mask is { } mask ? await File.ReadAllBytesAsync(mask, cancellation) : null,
            Box = job.Box is { } box ? EditInput.ParseBox(box) : null,
            Mode = job.Mode ?? "inpaint",
            Feather = job.Feather,
        };
        await client.EditAsync(edit, null, cancellation, Write);
    }

    /// <summary>How <paramref name="items"/> go out: per job, in calls of at most <paramref name="requestSize"/> images.</summary>
    public static IEnumerable<BatchItem[]> Calls(IReadOnlyList<BatchItem> items, int requestSize) =>
        items.GroupBy(i => i.Job.Line).SelectMany(job => job.Chunk(requestSize));

    /// <summary>The generation request for <paramref name="chunk"/> (images of one job): its explicit seeds and the job's settings.</summary>
    public static RemoteRequest Request(BatchItem[] chunk)
    {
        var job = chunk[0].Job;
        return new RemoteRequest
        {
            Model = job.Model,
            Class = job.Class ?? "",
            Seeds = chunk.Select(i => i.Seed).ToArray(),
            Cfg = job.Cfg,
            TopK = job.TopK,
            TopP = job.TopP,
            MoreSmooth = job.MoreSmooth,
            Decoder = job.Decoder.Kind ?? "",
            DraftScales = job.Decoder.DraftScales,
            Refiner = job.Decoder.Refiner,
            RefinerCfg = job.Decoder.RefinerCfg,
            Budget = job.Decoder.Budget,
            Reward = job.Decoder.Reward,
            RequestId = $"batch-line{job.Line}-seed{chunk[0].Seed}",
        };
    }
}
