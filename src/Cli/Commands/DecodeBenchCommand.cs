using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Var.Model.Checkpoints;
using Var.Model.Vqvae;

namespace Var.Cli.Commands;

/// <summary>
/// <c>var bench decode</c>: the VQVAE decode alone (random official-layout ch160 VQVAE, f̂ of a 256² image) with each
/// 3×3-convolution path this CPU runs — the AVX-512 and AVX2 Winograd kernels and libtorch's convolution — timed in
/// alternation so that a loaded machine slows them alike, with the largest difference of each path's image from
/// libtorch's. Wall seconds and CPU seconds of the process per image: on a shared machine the CPU seconds (with
/// <c>--threads 1</c>) are what each path costs, the wall seconds include waiting for a core. Prints JSON.
/// </summary>
internal static class DecodeBenchCommand
{
    public static Command Create()
    {
        var batches = new Option<string>("--batches") { Description = "Batch sizes to time.", DefaultValueFactory = _ => "1,4,16" };
        var reps = new Option<int>("--reps") { Description = "Timed rounds (each times every path once, after one warm-up).", DefaultValueFactory = _ => 3 };
        var work = new Option<string?>("--work") { Description = "Folder for the random official-layout checkpoints (default: a temp folder, reused)." };
        var threads = new Option<int?>("--threads") { Description = "Torch intra-op threads, also the Winograd kernels' (default: all cores)." };
        var cmd = new Command("decode", "Time the VQVAE decode (256²) with the AVX-512 and AVX2 Winograd kernels and libtorch's convolution, in alternation; prints JSON.");
        foreach (var o in new Option[] { batches, reps, work, threads }) cmd.Options.Add(o);
        cmd.SetAction(pr => CommandRunner.Run(() =>
        {
            ModelArguments.ApplyThreads(pr.GetValue(threads));
            var (vaeFile, varFile) = BenchCommand.EnsureCheckpoints(16, pr.GetValue(work));
            var (vae, var) = ModelLoader.LoadOfficialPair(vaeFile, varFile);
            var.Dispose();
            using (vae)
            {
                var result = new JsonObject
                {
                    ["machine"] = BenchCommand.Machine(),
                    ["decode"] = Run(vae, ModelArguments.ParseInts(pr.GetValue(batches)) ?? [1, 4, 16], Math.Max(1, pr.GetValue(reps))),
                };
                Console.WriteLine(result.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            }
            return 0;
        }));
        return cmd;
    }

    private static void Log(string message) => Console.Error.WriteLine($"[bench decode] {message}");

    /// <summary>The paths this CPU runs, widest first: a Winograd kernel, or null for libtorch's convolution.</summary>
    internal static IReadOnlyList<WinogradKernel?> Paths() =>
        new WinogradKernel?[] { WinogradKernel.Avx512, WinogradKernel.Avx2, null }
            .Where(k => k is null || Conv3x3.Supports(k.Value)).ToList();

    internal static string PathName(WinogradKernel? k) => k switch
    {
        WinogradKernel.Avx512 => "winograd_avx512",
        WinogradKernel.Avx2 => "winograd_avx2",
        _ => "torch",
    };

    /// <summary>Seconds per image of the decode by batch and path (best, median and worst round), with each path's kernel counts.</summary>
    internal static JsonArray Run(MultiScaleVqvae vae, int[] batches, int reps)
    {
        var paths = Paths();
        bool enabled = Conv3x3.Enabled;
        var kernel = Conv3x3.Kernel;
        var rows = new JsonArray();
        try
        {
            foreach (int b in batches)
            {
                using var scope = NewDisposeScope();
                using var noGrad = no_grad();
                manual_seed(5);
                var fHat = randn(b, vae.Config.ZChannels, 16, 16);
                var times = paths.ToDictionary(p => PathName(p), _ => new List<double>());
                var cpu = paths.ToDictionary(p => PathName(p), _ => new List<double>());
                var images = new Dictionary<string, Tensor>();
                var counts = new Dictionary<string, (long Torch, long Avx2, long Avx512)>();
                for (int r = -1; r < reps; r++)
                {
                    foreach (var p in paths)
                    {
                        string name = PathName(p);
                        Select(p);
                        Conv3x3.ResetCounts();
                        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
                        var clock = Stopwatch.StartNew();
                        var image = vae.FHatToImage(fHat);
                        double seconds = clock.Elapsed.TotalSeconds;
                        double cpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
                        if (r < 0)
                        {
                            images[name] = image;
                            counts[name] = Conv3x3.Counts;
                            continue;
                        }
                        image.Dispose();
                        times[name].Add(seconds / b);
                        cpu[name].Add(cpuSeconds / b);
                        Log($"batch {b} {name}: {seconds / b:F3} s/image, {cpuSeconds / b:F3} CPU s/image");
                    }
                }
                var torchImage = images["torch"];
                foreach (var p in paths)
                {
                    string name = PathName(p);
                    var t = times[name].Order().ToList();
                    var ct = cpu[name].Order().ToList();
                    var c = counts[name];
                    rows.Add(new JsonObject
                    {
                        ["batch"] = b,
                        ["path"] = name,
                        ["seconds_per_image_best"] = Math.Round(t[0], 4),
                        ["seconds_per_image_median"] = Math.Round(t[t.Count / 2], 4),
                        ["seconds_per_image_worst"] = Math.Round(t[^1], 4),
                        ["cpu_seconds_per_image_best"] = Math.Round(ct[0], 4),
                        ["cpu_seconds_per_image_median"] = Math.Round(ct[ct.Count / 2], 4),
                        ["cpu_seconds_per_image_worst"] = Math.Round(ct[^1], 4),
                        ["conv3x3_calls"] = new JsonObject { ["torch"] = c.Torch, ["winograd_avx2"] = c.Avx2, ["winograd_avx512"] = c.Avx512 },
                        ["max_abs_diff_vs_torch"] = Math.Round((images[name] - torchImage).abs().max().item<float>(), 6),
                    });
                }
            }
        }
        finally
        {
            Conv3x3.Enabled = enabled;
            Conv3x3.Kernel = kernel;
        }
        return rows;
    }

    private static void Select(WinogradKernel? path)
    {
        Conv3x3.Enabled = path is not null;
        if (path is { } k) Conv3x3.Kernel = k;
    }
}
