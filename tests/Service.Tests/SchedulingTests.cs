using Var.Service.Scheduling;

namespace Var.Service.Tests;

/// <summary>
/// Queue limits, cancellation and deadlines. A gate in <see cref="GenerationScheduler.AfterScale"/> holds the torch
/// thread at a chosen scale so that the tests control what is queued and what is running.
/// </summary>
public sealed class SchedulingTests : IClassFixture<SchedulingTests.Factory>, IDisposable
{
    /// <summary>Batches of 2, a queue of 2 images.</summary>
    public sealed class Factory() : ServiceFactory(new Dictionary<string, string>
    {
        ["Var:Scheduler:MaxBatchSize"] = "2",
        ["Var:Scheduler:MaxQueuedImages"] = "2",
        ["Var:Scheduler:MaxImagesPerRequest"] = "2",
        ["Var:Scheduler:MaxWaitMs"] = "300",
    });

    private readonly Factory factory;
    private readonly SemaphoreSlim entered = new(0);
    private readonly ManualResetEventSlim open = new(true);
    private readonly List<BatchScaleInfo> seen = [];

    public SchedulingTests(Factory factory)
    {
        this.factory = factory;
        factory.Scheduler.AfterScale += Observe;
    }

    private void Observe(BatchScaleInfo info)
    {
        lock (seen) seen.Add(info);
        if (info.Scale == 0 && !open.IsSet)
        {
            entered.Release();
            open.Wait(TimeSpan.FromSeconds(30));
        }
    }

    public void Dispose()
    {
        open.Set();
        factory.Scheduler.AfterScale -= Observe;
    }

    private async Task HoldNextBatchAtScaleZero(Func<Task> start)
    {
        open.Reset();
        await start();
        Assert.True(await entered.WaitAsync(TimeSpan.FromSeconds(30)), "the batch never reached scale 0");
    }

    private async Task WaitUntil(Func<bool> condition, string what)
    {
        for (int i = 0; i < 1000 && !condition(); i++) await Task.Delay(10);
        Assert.True(condition(), what);
    }

    [Fact]
    public async Task CancelledCallLeavesItsBatchAtTheNextScaleWhileTheOtherRowFinishes()
    {
        await factory.WaitServingAsync();
        var client = factory.Client();
        var expected = (await client.GenerateAsync(new GenerateRequest { ClassId = 2, Seed = 77 })).Images[0].Data;
        lock (seen) seen.Clear();

        using var cancel = new CancellationTokenSource();
        AsyncUnaryCall<GenerateResponse>? doomed = null, kept = null;
        await HoldNextBatchAtScaleZero(() =>
        {
            doomed = client.GenerateAsync(new GenerateRequest { ClassId = 1, Seed = 5, RequestId = "doomed" }, cancellationToken: cancel.Token);
            kept = client.GenerateAsync(new GenerateRequest { ClassId = 2, Seed = 77, RequestId = "kept" });
            return Task.CompletedTask;
        });
        lock (seen) Assert.Equal(["doomed", "kept"], seen.Single().RequestIds.Order());

        cancel.Cancel();
        var error = await Assert.ThrowsAsync<RpcException>(() => doomed!.ResponseAsync);
        Assert.Equal(StatusCode.Cancelled, error.StatusCode);
        await WaitUntil(() => factory.Scheduler.FindActive("doomed") is null or { IsCancelled: true }, "the server never saw the cancellation");
        open.Set();

        var response = await kept!.ResponseAsync;
        Assert.Equal(expected, response.Images[0].Data);
        lock (seen)
        {
            Assert.Equal([0, 1, 2, 3], seen.Select(s => s.Scale));
            Assert.All(seen.Skip(1), s => Assert.Equal(["kept"], s.RequestIds));
        }
        await WaitUntil(() => factory.Scheduler.RunningImages == 0 && factory.Scheduler.QueuedImages == 0, "the slot was not freed");
    }

    [Fact]
    public async Task FullQueueIsRefusedAtOnceAndACancelledWaiterFreesItsPlace()
    {
        await factory.WaitServingAsync();
        var client = factory.Client();
        AsyncUnaryCall<GenerateResponse>? running = null;
        await HoldNextBatchAtScaleZero(() =>
        {
            running = client.GenerateAsync(Requests.One(0, 1, count: 2));
            return Task.CompletedTask;
        });

        using var cancelWaiter = new CancellationTokenSource();
        var waiter = client.GenerateAsync(Requests.One(1, 2, count: 2), cancellationToken: cancelWaiter.Token);
        await WaitUntil(() => factory.Scheduler.QueuedImages == 2, "the waiter was not queued");

        var full = await Assert.ThrowsAsync<RpcException>(() => client.GenerateAsync(Requests.One(2, 3)).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, full.StatusCode);
        Assert.Contains("queue is full", full.Status.Detail);

        cancelWaiter.Cancel();
        await Assert.ThrowsAsync<RpcException>(() => waiter.ResponseAsync);
        await WaitUntil(() => factory.Scheduler.QueuedImages == 0, "the cancelled waiter kept its place");
        var next = client.GenerateAsync(Requests.One(2, 3));
        await WaitUntil(() => factory.Scheduler.QueuedImages == 1, "the next request was not queued");

        open.Set();
        Assert.Equal(2, (await running!.ResponseAsync).Images.Count);
        Assert.Single((await next.ResponseAsync).Images);
    }

    private static void AssertEndedAtDeadline(RpcException e, DateTime deadline)
    {
        // Normally the client's own deadline timer ends the call with DEADLINE_EXCEEDED. When the server's status wins
        // that race under load, TestServer can surface the server's reset of the expired stream as INTERNAL; the real
        // HTTP/2 transport does not. Either way the call must not end before its deadline.
        bool resetAtDeadline = e.StatusCode == StatusCode.Internal && DateTime.UtcNow >= deadline;
        Assert.True(e.StatusCode == StatusCode.DeadlineExceeded || resetAtDeadline, e.Status.ToString());
    }

    [Fact]
    public async Task DeadlinePassingWhileQueuedOrRunningEndsTheCallWithDeadlineExceeded()
    {
        await factory.WaitServingAsync();
        var client = factory.Client();
        AsyncUnaryCall<GenerateResponse>? running = null;
        var runningDeadline = DateTime.UtcNow.AddMilliseconds(1500);
        await HoldNextBatchAtScaleZero(() =>
        {
            running = client.GenerateAsync(Requests.One(0, 1), deadline: runningDeadline);
            return Task.CompletedTask;
        });
        var queuedDeadline = DateTime.UtcNow.AddMilliseconds(300);
        var queued = client.GenerateAsync(Requests.One(0, 2), deadline: queuedDeadline);
        AssertEndedAtDeadline(await Assert.ThrowsAsync<RpcException>(() => queued.ResponseAsync), queuedDeadline);
        AssertEndedAtDeadline(await Assert.ThrowsAsync<RpcException>(() => running!.ResponseAsync), runningDeadline);
        open.Set();
        await WaitUntil(() => factory.Scheduler.RunningImages == 0 && factory.Scheduler.QueuedImages == 0, "the expired calls kept their places");
        Assert.Single((await client.GenerateAsync(Requests.One(0, 3))).Images);
    }
}
