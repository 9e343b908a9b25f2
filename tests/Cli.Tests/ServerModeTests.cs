using Var.Client;

namespace Var.Cli.Tests;

/// <summary><c>var batch --server</c> against the real service in-process, including one that refuses with RESOURCE_EXHAUSTED.</summary>
public sealed class ServerModeTests(BatchServerFactory server) : IClassFixture<BatchServerFactory>, IDisposable
{
    private readonly BatchFolder folder = new();

    private static readonly VarClientOptions Retrying = new()
    {
        MaxAttempts = 6,
        InitialBackoff = TimeSpan.FromMilliseconds(20),
        MaxBackoff = TimeSpan.FromMilliseconds(200),
        Timeout = TimeSpan.FromSeconds(120),
    };

    private string EditInput()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Var.sln"))) dir = dir.Parent;
        return Path.Combine(dir!.FullName, "docs", "edit-input.png");
    }

    [Fact]
    public void ServerThatRefusesForAWhileStillGetsEveryImageAndTheSameAsTheLocalEngine()
    {
        var jobs = folder.Jobs(
            // Not seeds 40-44: the shipped model's coat seed 44 is a near-tie draw that flips with the matmuls' rounding
            // (1 torch thread at batch 5 vs batch 30; README "Sampling"), and the server batches rows as they arrive.
            // decoder var: the seeds were checked for near-ties under var (the folder's default is hmar).
            """{"class": "coat", "count": 5, "seed": 45, "decoder": "var"}""",
            """{"class": "trouser", "seeds": [9, 11, 12], "decoder": "code", "draft_scales": 4}""",
            $$"""{"image": "{{EditInput()}}", "box": [0.1, 0.55, 0.9, 0.95], "mode": "inpaint", "count": 2, "seed": 3, "decoder": "var"}""");
        var local = folder.PathOf("local");
        Assert.Equal(0, BatchServerFactory.AsTheServerRuns(() => BatchCommand.RunLocal(new BatchSettings { JobsFile = jobs, Output = local }, BatchFolder.Fmnist, CancellationToken.None)));

        server.Refusals.Arm(4);
        var remote = folder.PathOf("remote");
        using (var client = server.Client(Retrying))
            Assert.Equal(0, BatchCommand.RunRemote(new BatchSettings { JobsFile = jobs, Output = remote, RequestSize = 2, Concurrency = 3 }, client, "test-server", CancellationToken.None));

        Assert.Equal(4, server.Refusals.Refused);
        Assert.True(server.Refusals.Calls >= 4 + 5, $"{server.Refusals.Calls} calls: 5 requests plus a retry per refusal");
        var expected = BatchFolder.Images(local);
        Assert.Equal(10, expected.Count);
        Assert.Equal(expected, BatchFolder.Images(remote));
        var lines = BatchFolder.ManifestLines(remote);
        Assert.Equal(expected.Keys, lines.Select(l => (string)l["file"]!).Order(StringComparer.Ordinal));
        Assert.All(lines, l => Assert.Equal("test-server", (string)l["server"]!));
    }

    [Fact]
    public void AJobTheServerKeepsRefusingFailsAloneAndARerunFinishesIt()
    {
        var jobs = folder.Jobs(
            """{"class": "shirt", "count": 3, "seed": 1}""",
            """{"class": "bag", "count": 2, "seed": 1}""");
        var output = folder.PathOf("out");
        server.Refusals.Arm(0);
        server.Refusals.AlwaysRefuseClass = "bag";
        try
        {
            using var client = server.Client(Retrying with { MaxAttempts = 3 });
            var said = new StringWriter();
            var (stdout, stderr) = (Console.Out, Console.Error);
            Console.SetOut(said);
            Console.SetError(said);
            int code;
            try
            {
                code = BatchCommand.RunRemote(new BatchSettings { JobsFile = jobs, Output = output }, client, "test-server", CancellationToken.None);
            }
            finally
            {
                Console.SetOut(stdout);
                Console.SetError(stderr);
            }
            Assert.True(code == 1, said.ToString());
            Assert.True(said.ToString().Contains("failed: line 2 (2 images): server answered ResourceExhausted"), said.ToString());
            Assert.DoesNotContain("line 1", said.ToString());
            Assert.True(BatchFolder.Images(output).Keys.SequenceEqual(["shirt_c6_s1.png", "shirt_c6_s2.png", "shirt_c6_s3.png"]), said.ToString());
            Assert.Equal(3, server.Refusals.Refused);
        }
        finally
        {
            server.Refusals.AlwaysRefuseClass = null;
        }
        using (var client = server.Client(Retrying))
            Assert.Equal(0, BatchCommand.RunRemote(new BatchSettings { JobsFile = jobs, Output = output }, client, "test-server", CancellationToken.None));
        Assert.Equal(5, BatchFolder.Images(output).Count);
        Assert.Equal(5, BatchFolder.ManifestLines(output).Count);
        // Jobs that name no decoder send none, and the server decodes with the folder's default (fmnist: hmar).
        Assert.All(BatchFolder.ManifestLines(output), l => Assert.Equal("hmar", (string)l["decoder"]!));
    }

    [Fact]
    public async Task ClientHonoursDeadlineAndCancellation()
    {
        using var client = server.Client(Retrying with { Timeout = TimeSpan.FromMilliseconds(1) });
        var late = await Assert.ThrowsAsync<RemoteGenerationException>(() => client.StreamAsync(new RemoteRequest { Class = "coat", Count = 64, Seed = 1 }));
        Assert.Equal(Grpc.Core.StatusCode.DeadlineExceeded, late.Code);
        using var patient = server.Client(Retrying);
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        var cancelled = await Assert.ThrowsAnyAsync<Exception>(() => patient.GenerateAsync(new RemoteRequest { Class = "coat", Count = 64, Seed = 1 }, cancel.Token));
        Assert.True(cancelled is OperationCanceledException || cancelled is RemoteGenerationException { Code: Grpc.Core.StatusCode.Cancelled }, cancelled.ToString());
    }

    /// <inheritdoc />
    public void Dispose() => folder.Dispose();
}
