using System.Text.Json.Nodes;
using k8s.Models;

namespace Var.Deploy.Tests;

/// <summary>
/// The Indexed Job of deploy/k8s/batch, run as Kubernetes would run it: its own command line, for every completion
/// index, into one shared folder, on the ConfigMap's jobs file. Together the shards make exactly the images of one
/// local `var batch` run (tests/Cli.Tests/ShardTests checks the shard arithmetic in-process; this checks the Job).
/// </summary>
public sealed class IndexedJobTests : IDisposable
{
    private readonly string root = Path.Combine(Path.GetTempPath(), "var-job-" + Guid.NewGuid().ToString("N")[..8]);

    [Fact]
    public void TheJobsShardsTogetherMakeExactlyTheImagesOfOneLocalRun()
    {
        var job = Manifests.One<V1Job>("batch/job.yaml");
        var map = Manifests.One<V1ConfigMap>("batch/jobs-configmap.yaml");
        var c = Assert.Single(job.Spec.Template.Spec.Containers);
        var pod = job.Spec.Template.Spec;
        var mounts = new Dictionary<string, string>();
        foreach (var mount in c.VolumeMounts)
        {
            var local = Path.Combine(root, mount.Name);
            Directory.CreateDirectory(local);
            mounts[mount.MountPath] = local;
        }
        var jobsMount = c.VolumeMounts.Single(m => pod.Volumes.Single(v => v.Name == m.Name).ConfigMap is not null);
        foreach (var (key, content) in map.Data) File.WriteAllText(Path.Combine(mounts[jobsMount.MountPath], key), content);
        var run = new PodRun(c, mounts);
        int n = job.Spec.Completions!.Value;

        for (int index = 0; index < n; index++)
        {
            var result = run.Run(new Dictionary<string, string> { ["JOB_COMPLETION_INDEX"] = index.ToString() });
            Assert.True(result.ExitCode == 0, $"index {index}:\n{result.Output}");
            Assert.Contains($"shard {index}/{n}", result.Output);
        }
        var output = mounts[c.Args[c.Args.IndexOf("--out") + 1]];

        // One local run of the same jobs file, unsharded.
        var whole = Path.Combine(root, "whole");
        var jobsFile = Path.Combine(mounts[jobsMount.MountPath], Path.GetFileName(c.Args[1]));
        var single = Tool.Run("dotnet", [Repo.Program("var.dll"), "batch", jobsFile, "--out", whole, "--model", "fmnist"], TimeSpan.FromMinutes(10), AppContext.BaseDirectory,
            new Dictionary<string, string> { ["VAR_WEIGHTS"] = Repo.PathOf("weights") });
        Assert.True(single.ExitCode == 0, single.Output);

        var expected = PodRun.Images(whole);
        int total = map.Data.Values.Single().Split('\n', StringSplitOptions.RemoveEmptyEntries).Sum(CountOf);
        Assert.Equal(total, expected.Count);
        Assert.Equal(expected, PodRun.Images(output));
        for (int index = 0; index < n; index++) Assert.True(File.Exists(Path.Combine(output, $"manifest-shard{index}-of{n}.jsonl")), $"no manifest of shard {index}");
        var lines = Directory.EnumerateFiles(output, "manifest*.jsonl").SelectMany(File.ReadAllLines).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(expected.Keys, lines.Select(l => (string)l["file"]!).Order(StringComparer.Ordinal));
        Assert.All(lines, l => Assert.Equal(expected[(string)l["file"]!], (string)l["sha256"]!));

        // A retried pod of an index finds its shard done and changes nothing.
        var again = run.Run(new Dictionary<string, string> { ["JOB_COMPLETION_INDEX"] = "1" });
        Assert.True(again.ExitCode == 0, again.Output);
        Assert.Contains(" 0 written", again.Output);
        Assert.Equal(expected, PodRun.Images(output));
    }

    private static int CountOf(string jobLine)
    {
        var job = JsonNode.Parse(jobLine)!;
        return job["seeds"] is JsonArray seeds ? seeds.Count : (int)job["count"]!;
    }

    [Fact]
    public void ArgumentsExpandLikeTheKubelet()
    {
        var env = new Dictionary<string, string> { ["JOB_COMPLETION_INDEX"] = "3", ["JOB_COMPLETIONS"] = "4" };
        Assert.Equal("3/4", PodRun.Expand("$(JOB_COMPLETION_INDEX)/$(JOB_COMPLETIONS)", env));
        Assert.Equal("$(UNSET) $(JOB_COMPLETIONS)", PodRun.Expand("$(UNSET) $$(JOB_COMPLETIONS)", env));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        try
        {
            Directory.Delete(root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
