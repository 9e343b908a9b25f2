using System.Collections.Concurrent;
using Var.Decoding.Core;
using Var.Decoding.Decoders;
using Var.Model;
using Var.Service.Scheduling;
using Var.Service.Validation;

namespace Var.Service.Tests;

/// <summary>The scheduler batches by the decoder's batch key and knows no decoder type.</summary>
public sealed class DecoderBatchingTests(DecoderBatchingTests.Factory factory) : IClassFixture<DecoderBatchingTests.Factory>
{
    /// <summary>Batches of up to 8, held open long enough for all submissions to meet.</summary>
    public sealed class Factory() : ServiceFactory(new Dictionary<string, string>
    {
        ["Var:Scheduler:MaxBatchSize"] = "8",
        ["Var:Scheduler:MaxWaitMs"] = "1500",
    });

    /// <summary>Another decoder kind (VAR's plan under another key), as a later decoder would be.</summary>
    private sealed record OtherKind : IDecoder
    {
        public string Kind => "other";

        public string BatchKey => "other";

        public DecodingPlan Plan(ModelBundle model) => new VarDecoding().Plan(model);
    }

    /// <summary>Submits the plans at once, waits for them, and returns the request ids of each batch's images (one entry per image).</summary>
    internal static async Task<List<string[]>> BatchesOf(GenerationScheduler scheduler, IEnumerable<GenerationPlan> plans)
    {
        var batches = new ConcurrentBag<string[]>();
        void Record(BatchScaleInfo info)
        {
            if (info.Scale == 0) batches.Add(info.RequestIds.ToArray());
        }
        scheduler.AfterScale += Record;
        try
        {
            var tickets = plans.Select(p => scheduler.Submit(p, CancellationToken.None, DateTime.MaxValue)).ToList();
            foreach (var ticket in tickets)
            {
                await foreach (var _ in ticket.Events.ReadAllAsync()) { }
                scheduler.Release(ticket);
            }
        }
        finally
        {
            scheduler.AfterScale -= Record;
        }
        return batches.ToList();
    }

    [Fact]
    public async Task TwoDecoderKindsNeverShareABatch()
    {
        await factory.WaitServingAsync();
        var scheduler = factory.Scheduler;
        var model = scheduler.FindModel("")!;
        var decoders = new IDecoder[] { new VarDecoding(), new OtherKind(), new VarDecoding(), new OtherKind() };
        var seen = await BatchesOf(scheduler, decoders.Select((d, i) =>
            new GenerationPlan($"{d.Kind}-{i}", model, d, [new ImageSpec(0, i, 100 + i, model.Defaults)], OutputSpec.Png, false)));
        Assert.All(seen, ids => Assert.Single(ids.Select(id => id.Split('-')[0]).Distinct()));
        // Requests of the same kind did meet in one batch: the grouping is by key, not one request per batch.
        Assert.Equal(2, seen.Count);
        Assert.All(seen, ids => Assert.Equal(2, ids.Length));
    }
}

/// <summary>A batch is bounded by candidate rows too: a search's images cost their widest candidate count.</summary>
public sealed class RowBudgetTests(RowBudgetTests.Factory factory) : IClassFixture<RowBudgetTests.Factory>
{
    /// <summary>Batches of up to 8 images and 10 rows, held open long enough for all submissions to meet.</summary>
    public sealed class Factory() : ServiceFactory(new Dictionary<string, string>
    {
        ["Var:Scheduler:MaxBatchSize"] = "8",
        ["Var:Scheduler:MaxBatchRows"] = "10",
        ["Var:Scheduler:MaxWaitMs"] = "1500",
    });

    private sealed record Wide : IDecoder
    {
        public string Kind => "wide";

        public string BatchKey => "wide";

        public DecodingPlan Plan(ModelBundle model) => new VarDecoding().Plan(model);
    }

    [Fact]
    public async Task ImagesOfFiveRowsShareBatchesTwoAtATimeWhilePlainImagesFillOne()
    {
        await factory.WaitServingAsync();
        var scheduler = factory.Scheduler;
        var model = scheduler.FindModel("")!;
        var images = Enumerable.Range(0, 4).Select(i => new ImageSpec(i, 0, 200 + i, model.Defaults)).ToArray();
        var seen = await DecoderBatchingTests.BatchesOf(scheduler,
        [
            new GenerationPlan("wide", model, new Wide(), images, OutputSpec.Png, false) { RowsPerImage = 5 },
            new GenerationPlan("plain", model, new VarDecoding(), images, OutputSpec.Png, false),
        ]);
        Assert.Equal([2, 2], seen.Where(b => b[0] == "wide").Select(b => b.Length));
        Assert.Equal([4], seen.Where(b => b[0] == "plain").Select(b => b.Length));
    }
}
