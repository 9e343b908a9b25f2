namespace Var.Service.Tests;

/// <summary>Dynamic batching through the service: concurrent requests share a batch and get the images they would get alone.</summary>
public sealed class BatchingTests(BatchingTests.Factory factory) : IClassFixture<BatchingTests.Factory>
{
    /// <summary>Batches of up to 8, held open long enough for 8 concurrent calls to meet.</summary>
    public sealed class Factory() : ServiceFactory(new Dictionary<string, string>
    {
        ["Var:Scheduler:MaxBatchSize"] = "8",
        ["Var:Scheduler:MaxWaitMs"] = "1500",
    });

    [Fact]
    public async Task ImageIsIdenticalAloneAndAmongSevenConcurrentOthers()
    {
        await factory.WaitServingAsync();
        var target = new GenerateRequest { ClassId = 3, Seed = 42, Cfg = 2.5, TopK = 30, TopP = 0.8 };
        var alone = await factory.Client().GenerateAsync(target);
        Assert.Equal(1, alone.Images[0].Timings.BatchSize);

        // Seven others with different classes, seeds and settings, all in flight at once with the target.
        var others = Enumerable.Range(0, 7).Select(i => new GenerateRequest
        {
            ClassId = i,
            Seed = 1000 + i,
            Cfg = i * 0.5,
            TopK = i % 2 == 0 ? 0 : 5 + i,
            TopP = i % 3 == 0 ? 0 : 0.5 + i * 0.05,
            MoreSmooth = i == 6,
        });
        var calls = others.Prepend(target).Select(r => factory.Client().GenerateAsync(r).ResponseAsync).ToList();
        var responses = await Task.WhenAll(calls);

        Assert.All(responses, r => Assert.Equal(8, r.Images[0].Timings.BatchSize));
        Assert.Equal(alone.Images[0].Data, responses[0].Images[0].Data);
        Assert.Equal(7, responses.Skip(1).Select(r => r.Images[0].Data).Distinct().Count());
    }

    [Fact]
    public async Task ARequestLargerThanTheBatchIsSplitAcrossBatchesWithoutChangingItsImages()
    {
        await factory.WaitServingAsync();
        var big = await factory.Client().GenerateAsync(new GenerateRequest { ClassId = 5, Seed = 7, Count = 10 });
        Assert.Equal([8, 8, 8, 8, 8, 8, 8, 8, 2, 2], big.Images.Select(i => i.Timings.BatchSize));
        var single = await factory.Client().GenerateAsync(new GenerateRequest { ClassId = 5, Seed = 16 });
        Assert.Equal(single.Images[0].Data, big.Images[9].Data);
    }
}
