namespace Var.Cli.Tests;

/// <summary>N shards, each run on its own, make exactly the images of one unsharded run.</summary>
public sealed class ShardTests : IDisposable
{
    private readonly BatchFolder folder = new();

    [Fact]
    public void TwoShardsTogetherEqualTheUnshardedRun()
    {
        // decoder var: these seeds draw no near-tie under var at any of the batch sizes here (README "Sampling"); the
        // folder's default hmar flips coat seed 10 between batch 16 and batch 3.
        var jobs = folder.Jobs(
            """{"class": "coat", "count": 6, "seed": 10, "decoder": "var"}""",
            """{"class": "bag", "seeds": [3, 5, 8, 13], "cfg": 3, "decoder": "var"}""",
            """{"class": 7, "count": 4, "seed": 20, "decoder": "code", "name": "sneaker-code"}""");
        var whole = folder.PathOf("whole");
        var sharded = folder.PathOf("sharded");
        Assert.Equal(0, BatchCommand.RunLocal(new BatchSettings { JobsFile = jobs, Output = whole, BatchSize = 16 }, BatchFolder.Fmnist, CancellationToken.None));
        for (int i = 0; i < 2; i++)
            Assert.Equal(0, BatchCommand.RunLocal(new BatchSettings { JobsFile = jobs, Output = sharded, Shard = new ShardSpec(i, 2), BatchSize = 3 }, BatchFolder.Fmnist, CancellationToken.None));

        var expected = BatchFolder.Images(whole);
        Assert.Equal(14, expected.Count);
        Assert.Equal(expected, BatchFolder.Images(sharded));
        var perShard = Enumerable.Range(0, 2).Select(i => BatchFolder.ManifestLines(sharded).Count(l => new ShardSpec(i, 2).Holds((string)l["file"]!))).ToList();
        Assert.All(perShard, n => Assert.InRange(n, 1, 13));
        var lines = BatchFolder.ManifestLines(sharded);
        Assert.Equal(expected.Keys, lines.Select(l => (string)l["file"]!).Order(StringComparer.Ordinal));
        Assert.All(lines, l => Assert.Equal(expected[(string)l["file"]!], (string)l["sha256"]!));
        Assert.True(File.Exists(Path.Combine(sharded, "manifest-shard0-of2.jsonl")) && File.Exists(Path.Combine(sharded, "manifest-shard1-of2.jsonl")));

        // A rerun of either shard finds nothing left to make.
        Assert.Equal(0, BatchCommand.RunLocal(new BatchSettings { JobsFile = jobs, Output = sharded, Shard = new ShardSpec(1, 2) }, BatchFolder.Fmnist, CancellationToken.None));
        Assert.Equal(14, BatchFolder.ManifestLines(sharded).Count);
    }

    /// <inheritdoc />
    public void Dispose() => folder.Dispose();
}
