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

    [Fact]
    public async Task TwoDecoderKindsNeverShareABatch()
    {
        await factory.WaitServingAsync();
        var scheduler = factory.Scheduler;
        var model = scheduler.FindModel("")!;
        var batches = new ConcurrentBag<string[]>();
        void Record(BatchScaleInfo info)
        {
            if (info.Scale == 0) batches.Add(info.RequestIds.ToArray());
        }
        scheduler.AfterScale += Record;
        try
        {
            var decoders = new IDecoder[] { new VarDecoding(), new OtherKind(), new VarDecoding(), new OtherKind() };
            var tickets = decoders.Select((d, i) => scheduler.Submit(
                new GenerationPlan($"{d.Kind}-{i}", model, d, [new ImageSpec(0, i, 100 + i, model.Defaults)], OutputSpec.Png, false),
                CancellationToken.None, DateTime.MaxValue)).ToList();
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
        var seen = batches.ToList();
        Assert.All(seen, ids => Assert.Single(ids.Select(id => id.Split('-')[0]).Distinct()));
        // Requests of the same kind did meet in one batch: the grouping is by key, not one request per batch.
        Assert.Equal(2, seen.Count);
        Assert.All(seen, ids => Assert.Equal(2, ids.Length));
    }
}
