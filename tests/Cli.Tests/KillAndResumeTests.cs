using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Xunit.Abstractions;

namespace Var.Cli.Tests;

/// <summary>
/// The real <c>var batch</c> process, SIGKILLed at random points and resumed, ends with exactly the images of a clean
/// run: same names, same bytes, every manifest line once and naming a complete file, no temporary files.
/// </summary>
public sealed class KillAndResumeTests(ITestOutputHelper output) : IDisposable
{
    private readonly BatchFolder folder = new();

    internal static string VarDll()
    {
        var beside = Path.Combine(AppContext.BaseDirectory, "var.dll");
        if (File.Exists(beside) && File.Exists(Path.Combine(AppContext.BaseDirectory, "var.runtimeconfig.json"))) return beside;
        // The program's own bin, same configuration as this test build.
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Var.sln"))) dir = dir.Parent;
        var config = AppContext.BaseDirectory.Contains("/Debug/", StringComparison.Ordinal) ? "Debug" : "Release";
        return Path.Combine(dir!.FullName, "src", "Cli", "bin", config, "net10.0", "linux-x64", "var.dll");
    }

    private static Process Start(string jobs, string output, StringBuilder log)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { VarDll(), "batch", jobs, "--out", output, "--model", "fmnist", "--batch-size", "4", "--threads", "1" }) start.ArgumentList.Add(a);
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) => { lock (log) log.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (log) log.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static int CompleteLines(string folder) =>
        Directory.Exists(folder) ? Directory.EnumerateFiles(folder, "manifest*.jsonl").Sum(f => ReadShared(f).Count(b => b == (byte)'\n')) : 0;

    private static byte[] ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        return bytes;
    }

    [Fact]
    public async Task KilledThreeTimesAndResumedEndsWithExactlyTheCleanRun()
    {
        var jobs = folder.Jobs(
            // decoder var: a resumed run batches its rows differently, and these seeds draw no near-tie under var.
            """{"class": "dress", "count": 24, "seed": 100, "decoder": "var"}""",
            """{"class": "sandal", "count": 12, "seed": 7, "decoder": "code"}""",
            """{"class": "bag", "seeds": [1, 2, 3, 50, 60, 70], "decoder": "var"}""");
        var log = new StringBuilder();

        var clean = folder.PathOf("clean");
        var clock = Stopwatch.StartNew();
        using (var run = Start(jobs, clean, log))
        {
            await run.WaitForExitAsync();
            Assert.True(run.ExitCode == 0, log.ToString());
        }
        var cleanTime = clock.Elapsed;
        var expected = BatchFolder.Images(clean);
        Assert.Equal(42, expected.Count);

        var resumed = folder.PathOf("resumed");
        int seed = Environment.TickCount;
        var random = new Random(seed);
        // Three kill points spread over the run: once the manifest holds a random number of lines, a random few ms more.
        var targets = Enumerable.Range(0, 3).Select(_ => random.Next(1, expected.Count - 1)).Order().ToArray();
        var killedAt = new List<(int Target, int Lines)>();
        foreach (int target in targets)
        {
            using var run = Start(jobs, resumed, log);
            while (!run.HasExited && CompleteLines(resumed) < target) await Task.Delay(5);
            await Task.Delay(random.Next(0, 60));
            if (!run.HasExited) run.Kill();
            await run.WaitForExitAsync();
            // After every kill: each complete manifest line names a complete file with its hash.
            var lines = Directory.Exists(resumed) ? BatchFolder.ManifestLines(resumed) : [];
            foreach (var line in lines)
            {
                var path = Path.Combine(resumed, (string)line["file"]!);
                Assert.True(File.Exists(path), $"manifest names missing {path} (random seed {seed})");
                Assert.Equal((string)line["sha256"]!, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))));
            }
            killedAt.Add((target, lines.Count));
        }
        using (var run = Start(jobs, resumed, log))
        {
            await run.WaitForExitAsync();
            Assert.True(run.ExitCode == 0, log.ToString());
        }

        string where = $"random seed {seed}; killed after {string.Join(", ", killedAt.Select(k => $"{k.Target} images ({k.Lines} lines at the kill)"))}";
        output.WriteLine($"clean run {cleanTime.TotalSeconds:F2} s; {where}");
        Assert.Empty(Directory.EnumerateFiles(resumed, "*" + BatchOutput.TempSuffix, SearchOption.AllDirectories));
        Assert.Equal(expected, BatchFolder.Images(resumed));
        var files = BatchFolder.ManifestLines(resumed).Select(l => (string)l["file"]!).ToList();
        Assert.True(files.Count == expected.Count, $"{files.Count} manifest lines for {expected.Count} images; {where}");
        Assert.Equal(expected.Keys, files.Order(StringComparer.Ordinal));
    }

    /// <inheritdoc />
    public void Dispose() => folder.Dispose();
}
