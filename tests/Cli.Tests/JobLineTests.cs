namespace Var.Cli.Tests;

/// <summary>Job lines that cannot run are reported with their line numbers; the others run unless --strict.</summary>
public sealed class JobLineTests : IDisposable
{
    private readonly BatchFolder folder = new();

    private string WriteJobs() => folder.Jobs(
        """{"class": "coat", "count": 2, "seed": 5}""",
        """{"class": "coat", "count": 2""",
        """{"class": "cot", "count": 1}""",
        """{"class": "bag", "decoder": "code", "draft_scales": 99}""",
        """{"image": "no-such-input.png", "box": [0, 0, 0.5, 0.5], "mode": "inpaint"}""",
        "",
        """{"class": 8, "seeds": [3, 4], "decoder": {"code": {"draft_scales": 3}}}""",
        """{"class": "bag", "count": 1, "colour": "red"}""",
        """{"class": "coat", "count": 1, "seed": 6}""");

    [Fact]
    public void EachBadLineIsNamedByItsNumberAndItsProblem()
    {
        var (jobs, readErrors) = JobFileReader.Read(WriteJobs());
        using var resolver = new LocalJobResolver(BatchFolder.Fmnist);
        var plan = BatchPlan.Create(jobs, readErrors, resolver);
        Assert.Equal([2, 3, 4, 5, 8, 9], plan.Errors.Select(e => e.Line));
        var byLine = plan.Errors.ToDictionary(e => e.Line, e => e.Message);
        Assert.Contains("not a JSON object", byLine[2]);
        Assert.Contains("unknown class 'cot'", byLine[3]);
        Assert.Contains("did you mean 'coat'", byLine[3]);
        Assert.Contains("draft_scales 99 is out of range", byLine[4]);
        Assert.Contains("no-such-input.png", byLine[5]);
        Assert.Contains("unknown field 'colour'", byLine[8]);
        // Line 9 makes coat seed 6, which line 1 (seeds 5, 6) already makes.
        Assert.Contains("line 1 also makes", byLine[9]);
        Assert.Equal(["coat_c4_s5.png", "coat_c4_s6.png", "bag_c8_s3.png", "bag_c8_s4.png"], plan.Items.Select(i => i.File));
    }

    [Fact]
    public void TheOtherLinesStillRunAndTheExitCodeNamesTheFailure()
    {
        var jobs = WriteJobs();
        var output = folder.PathOf("out");
        int code = BatchCommand.RunLocal(new BatchSettings { JobsFile = jobs, Output = output, BatchSize = 8 }, BatchFolder.Fmnist, CancellationToken.None);
        Assert.Equal(1, code);
        Assert.Equal(["bag_c8_s3.png", "bag_c8_s4.png", "coat_c4_s5.png", "coat_c4_s6.png"], BatchFolder.Images(output).Keys);
        Assert.Equal(4, BatchFolder.ManifestLines(output).Count);
    }

    [Fact]
    public void StrictStopsBeforeAnyWork()
    {
        var output = folder.PathOf("out");
        int code = BatchCommand.RunLocal(new BatchSettings { JobsFile = WriteJobs(), Output = output, Strict = true }, BatchFolder.Fmnist, CancellationToken.None);
        Assert.Equal(2, code);
        Assert.False(Directory.Exists(output) && Directory.EnumerateFileSystemEntries(output).Any());
    }

    [Fact]
    public void ShardComesFromTheOptionOrFromKubernetesIndexedJobEnvironment()
    {
        Assert.Equal(new ShardSpec(2, 4), ShardSpec.Resolve("2/4", _ => null));
        var env = new Dictionary<string, string> { [ShardSpec.IndexVariable] = "1", [ShardSpec.CountVariable] = "3" };
        Assert.Equal(new ShardSpec(1, 3), ShardSpec.Resolve(null, k => env.GetValueOrDefault(k)));
        Assert.Equal(ShardSpec.All, ShardSpec.Resolve(null, _ => null));
        Assert.Throws<ArgumentException>(() => ShardSpec.Resolve("4/4", _ => null));
        Assert.Throws<ArgumentException>(() => ShardSpec.Resolve(null, k => k == ShardSpec.IndexVariable ? "0" : null));
    }

    /// <inheritdoc />
    public void Dispose() => folder.Dispose();
}
