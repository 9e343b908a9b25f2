using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Var.Cli.Commands;
using Var.Decoding.Editing;
using Var.Decoding.Imaging;
using Var.Decoding.Sampling;

namespace Var.Cli.Batch;

/// <summary>
/// Runs a batch on the local engine: images of jobs with the same model and decoder batch key share forward batches
/// (settings are per row, so sharing never changes an image), and a writer thread encodes and writes each finished
/// batch while the engine makes the next.
/// </summary>
internal static class LocalBatchRunner
{
    /// <summary>Makes <paramref name="items"/> into <paramref name="output"/>; a job whose images fail is recorded and the others go on.</summary>
    public static BatchOutcome Run(IReadOnlyList<BatchItem> items, LocalJobResolver resolver, BatchOutput output, int batchSize, IBatchProgress progress, CancellationToken cancellation)
    {
        var outcome = new BatchOutcome();
        var edits = new Dictionary<int, EditTarget?>();
        using var queue = new BlockingCollection<List<(string File, byte[] Rgb, int Size, JsonObject Line)>>(boundedCapacity: 2);
        var writer = Task.Run(() =>
        {
            foreach (var batch in queue.GetConsumingEnumerable())
            {
                output.Write(batch.Select(b => (b.File, ImageCodec.EncodePng(b.Rgb, b.Size, b.Size), b.Line)).ToList());
                outcome.AddWritten(batch.Count);
                progress.Advance(batch.Count);
            }
        });
        try
        {
            var groups = items.GroupBy(i =>
            {
                var (model, decoder, _) = resolver.Of(i.Job);
                return (model, decoder.BatchKey);
            });
            foreach (var group in groups)
            {
                var (model, decoder, _) = resolver.Of(group.First().Job);
                var generator = new ImageGenerator(model, decoder);
                foreach (var chunk in group.Chunk(batchSize))
                {
                    if (writer.IsFaulted) break;
                    var rows = new List<(BatchItem Item, SampleRequest Request)>();
                    foreach (var item in chunk)
                    {
                        if (outcome.Failures.ContainsKey(item.Job.Line)) continue;
                        try
                        {
                            var edit = EditOf(item.Job, resolver, edits);
                            rows.Add((item, new SampleRequest(item.ClassId, item.Seed, resolver.Of(item.Job).Settings) { Edit = edit }));
                        }
                        catch (Exception e) when (e is ArgumentException or IOException or NotSupportedException)
                        {
                            outcome.Fail(item.Job.Line, e.Message);
                        }
                    }
                    if (rows.Count == 0) continue;
                    IReadOnlyList<GeneratedImage?> images;
                    try
                    {
                        images = generator.Generate(rows.Select(r => r.Request).ToList(), cancellation);
                    }
                    catch (Exception e) when (e is ArgumentException or InvalidOperationException or NotSupportedException)
                    {
                        foreach (var line in rows.Select(r => r.Item.Job.Line).Distinct()) outcome.Fail(line, e.Message);
                        continue;
                    }
                    var done = new List<(string, byte[], int, JsonObject)>(rows.Count);
                    for (int i = 0; i < rows.Count; i++)
                    {
                        if (images[i] is not { } img) continue;
                        var item = rows[i].Item;
                        done.Add((item.File, img.Rgb, img.Size, ManifestLines.Local(item.File, model, decoder, img.Request, img.Size).WithJob(item.Job)));
                    }
                    queue.Add(done, cancellation);
                }
            }
        }
        finally
        {
            queue.CompleteAdding();
            // The writer finishes what was generated, also when cancelled: generated images are not thrown away.
            writer.GetAwaiter().GetResult();
        }
        return outcome;
    }

    // An edit job's target is loaded once (one encode of its input), the first time one of its images runs.
    private static EditTarget? EditOf(BatchJob job, LocalJobResolver resolver, Dictionary<int, EditTarget?> edits)
    {
        if (!job.IsEdit) return null;
        if (edits.TryGetValue(job.Line, out var target)) return target;
        var model = resolver.Of(job).Model;
        target = EditInput.Load(model, job.Image!, job.Mask, job.Box, job.Mode, job.Class, EditRegion.DefaultOutpaintScale, job.Feather).Target;
        edits[job.Line] = target;
        return target;
    }
}
