using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;

namespace Var.Cli.Tests;

/// <summary>The benches' resident-memory peak (Linux /proc): a reset starts it afresh, and what is allocated after it counts.</summary>
public sealed class ResidentMemoryTests
{
    private const int Megabytes = 64;

    [Fact]
    public unsafe void PeakAfterAResetCountsWhatWasAllocatedSinceAndNothingEarlier()
    {
        double before = ResidentMemory.ResetPeakMb();
        nuint bytes = (nuint)Megabytes << 20;
        byte* block = (byte*)NativeMemory.Alloc(bytes);
        try
        {
            // Touch every page so that it becomes resident.
            NativeMemory.Fill(block, bytes, 1);
            double grown = ResidentMemory.PeakMb() - before;
            Assert.True(grown >= 0.9 * Megabytes, $"a {Megabytes} MB block raised the peak by {grown:F1} MB");
        }
        finally
        {
            NativeMemory.Free(block);
        }
        double again = ResidentMemory.ResetPeakMb();
        double carried = ResidentMemory.PeakMb() - again;
        Assert.True(carried < 0.25 * Megabytes, $"the freed block still counts {carried:F1} MB after a reset");
        Assert.True(again < before + 0.25 * Megabytes, $"resident {again:F1} MB after the free vs {before:F1} MB before the block");
    }

    /// <summary>
    /// The exact C-heap counter (libvarpeak.so, preloaded): <c>bench code</c> reports its peak per configuration only
    /// when it is in the process, and the half-width refiner holds less at its peak than the drafter.
    /// </summary>
    [Fact]
    public void BenchesReportTheHeapPeakExactlyWhenTheCounterIsPreloaded()
    {
        string dll = KillAndResumeTests.VarDll();
        string counter = Path.Combine(Path.GetDirectoryName(dll)!, "libvarpeak.so");
        Assert.True(File.Exists(counter), $"{counter} is built beside var.dll (build/native/build-native.sh)");
        var with = BenchCode(dll, counter);
        var without = BenchCode(dll, null);
        double Heap(JsonNode bench, string config) =>
            (double)bench["configs"]!.AsArray().Single(c => (string)c!["config"]! == config)!["speed"]!["batch4"]!["peak_heap_mb"]!;
        double drafter = Heap(with, "drafter"), refiner = Heap(with, "refiner"), code = Heap(with, "code N=3");
        Assert.True(drafter > 1 && refiner > 0.5 && code > 0.5, $"heap peaks drafter {drafter}, refiner {refiner}, code {code} MB");
        Assert.True(refiner < drafter, $"the refiner (width 128) peaks at {refiner} MB, the drafter (width 256) at {drafter} MB");
        Assert.All(without["configs"]!.AsArray(), c => Assert.Null(c!["speed"]!["batch4"]!["peak_heap_mb"]));
    }

    private static JsonNode BenchCode(string dll, string? preload)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { dll, "bench", "code", "--model", "fmnist", "--batches", "4", "--per-class", "0", "--reps", "1", "--threads", "1", "--draft-scales", "3" })
            start.ArgumentList.Add(a);
        if (preload is not null) start.Environment["LD_PRELOAD"] = preload;
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"bench code exited {process.ExitCode}: {stderr.Result}");
        return JsonNode.Parse(stdout)!;
    }
}
