using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp.PyBridge;
using Var.Decoding.Sampling;
using Var.Model;
using Var.Model.Checkpoints;
using Var.Model.Classes;
using Var.Model.Transformer;
using Var.Model.Vqvae;

namespace Var.Cli.Commands;

/// <summary>
/// <c>var bench</c>: engine speed on a d16-shaped model with random weights saved in the official .pth layout, next to
/// the machine's matmul peak measured in the same run. Prints one JSON object.
/// </summary>
internal static class BenchCommand
{
    // var.md §7 "Speed": the official code on the reference's machine of this kind (2 cores with AVX-512 and bf16 units),
    // random-weight d16, 256², fp32. Machines of the kind without AVX-512 are slower: measure the official code on the
    // machine itself with bench/official/official_bench.py and pass its JSON with --official.
    private const double OfficialB1 = 12.6;
    private const double OfficialB4 = 7.05;

    public static Command Create()
    {
        var depth = new Option<int>("--depth") { Description = "Transformer depth (width = 64·depth, heads = depth, as the official models).", DefaultValueFactory = _ => 16 };
        var batches = new Option<string>("--batches") { Description = "Batch sizes to time.", DefaultValueFactory = _ => "1,4" };
        var dtypes = new Option<string>("--dtypes") { Description = "Transformer dtypes to time; 'auto' = float32, plus bfloat16 when this CPU accelerates it (bf16 matmul faster than fp32).", DefaultValueFactory = _ => "auto" };
        var reps = new Option<int>("--reps") { Description = "Timed repetitions per setting (after one warm-up).", DefaultValueFactory = _ => 2 };
        var leakRuns = new Option<int>("--leak-runs") { Description = "Consecutive batch-1 bfloat16 generations for the memory-growth check (0 = skip).", DefaultValueFactory = _ => 20 };
        var work = new Option<string?>("--work") { Description = "Folder for the random official-layout checkpoints (default: a temp folder, reused)." };
        var threads = new Option<int?>("--threads") { Description = "Torch intra-op threads (default: all cores)." };
        var modelName = new Option<string?>("--model") { Description = "Time a model folder (e.g. fmnist, with --batches 1,64) instead of the d16-shaped random official-layout model." };
        var official = new Option<string?>("--official") { Description = "JSON printed by bench/official/official_bench.py on this machine: speedups are also reported against the official code timed here." };
        var device = new Option<string>("--device") { Description = "cpu, cuda or cuda:N: where the model runs and the matmul peak is measured (on cuda the per-op profile is skipped: its timers do not wait for the GPU).", DefaultValueFactory = _ => "cpu" };
        var cmd = new Command("bench", "Time the engine on a d16-shaped random model (256², official .pth layout) in float32/bfloat16 at several batch sizes, with the machine's matmul peak; prints JSON. 'bench code' compares collaborative decoding with the drafter and the refiner alone; 'bench tts' compares TTS-VAR with best-of-N; 'bench batch' times var batch against the raw engine; 'bench hmar' compares HMAR schedules with VAR of the same size; 'bench edit' times an edit against a generation of the same batch; 'bench seam' measures seams on a set of inpaints; 'bench decode' times the VQVAE decode with each 3×3-convolution path (AVX-512/AVX2 Winograd, libtorch); 'bench parity' recomputes the var-parity fixture on a device (--device cuda, TF32 off) within 1e-4. The JSON names the CPU flags, the Winograd kernel, the load average, CPU seconds next to wall seconds and a per-op profile per run.");
        foreach (var o in new Option[] { depth, batches, dtypes, reps, leakRuns, work, threads, modelName, official, device }) cmd.Options.Add(o);
        cmd.Subcommands.Add(CodeBenchCommand.Create());
        cmd.Subcommands.Add(TtsBenchCommand.Create());
        cmd.Subcommands.Add(BatchBenchCommand.Create());
        cmd.Subcommands.Add(EditBenchCommand.Create());
        cmd.Subcommands.Add(SeamBenchCommand.Create());
        cmd.Subcommands.Add(DecodeBenchCommand.Create());
        cmd.Subcommands.Add(HmarBenchCommand.Create());
        cmd.Subcommands.Add(Subject.SubjectBenchCommand.Create());
        cmd.Subcommands.Add(ParityBenchCommand.Create());
        cmd.SetAction(pr => CommandRunner.Run(() =>
        {
            ModelArguments.ApplyThreads(pr.GetValue(threads));
            var result = Run(pr.GetValue(depth), ModelArguments.ParseInts(pr.GetValue(batches)) ?? [1, 4], pr.GetValue(dtypes)!,
                Math.Max(1, pr.GetValue(reps)), pr.GetValue(leakRuns), pr.GetValue(work), pr.GetValue(modelName), pr.GetValue(official), pr.GetValue(device)!);
            Console.WriteLine(result.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            return 0;
        }));
        return cmd;
    }

    private static void Log(string message) => Console.Error.WriteLine($"[bench] {message}");

    private static JsonObject Run(int depth, int[] batches, string dtypeList, int reps, int leakRuns, string? workDir, string? modelName, string? officialFile, string deviceName)
    {
        var dev = ModelLoader.ParseDevice(deviceName);
        bool onGpu = dev.type != DeviceType.CPU;
        timedDevice = dev;
        var officialHere = officialFile is null ? null : ReadOfficial(officialFile);
        var result = new JsonObject
        {
            ["machine"] = Machine(),
            ["device"] = dev.ToString(),
        };
        Log("measuring matmul peak");
        int[] peakSizes = onGpu ? [4096, 8192] : [1024, 2048];
        double fp32Peak = MatmulPeak(ScalarType.Float32, peakSizes, dev);
        // Without avx512_bf16/AMX, libtorch falls back to a slow bf16 path: probe small before timing big.
        double bf16Probe = MatmulPeak(ScalarType.BFloat16, [256], dev);
        bool bf16Fast = onGpu || bf16Probe > 0.5 * fp32Peak;
        double bf16Peak = bf16Fast ? Math.Max(bf16Probe, MatmulPeak(ScalarType.BFloat16, peakSizes, dev)) : bf16Probe;
        var peak = new JsonObject
        {
            ["float32"] = Math.Round(fp32Peak, 1),
            ["bfloat16"] = Math.Round(bf16Peak, 1),
            ["bfloat16_accelerated"] = bf16Fast,
        };
        result["matmul_peak_gflops"] = peak;
        var dtypes = dtypeList == "auto"
            ? (bf16Fast ? ["float32", "bfloat16"] : new[] { "float32" })
            : dtypeList.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (!bf16Fast) result["note"] = $"bfloat16 is not accelerated on this CPU ({bf16Probe:F1} GFLOP/s at 256³ vs {fp32Peak:F1} fp32): timed in float32 only unless --dtypes names it";

        var (vaeFile, varFile) = modelName is null ? EnsureCheckpoints(depth, workDir) : ("", "");
        var runs = new JsonArray();
        var summary = new Dictionary<(string, int), double>();
        var cpuSummary = new Dictionary<(string, int), double>();
        foreach (var dtype in dtypes)
        {
            Log($"loading {(modelName ?? varFile)} as {dtype}");
            using var model = modelName is not null
                ? ModelLoader.Load(new ModelSource { Model = modelName, DType = dtype, Device = deviceName })
                : LoadRandomPair(vaeFile, varFile, depth, dtype, dev);
            var var = model.Transformer;
            var sampler = new ImageGenerator(model);
            double flopsPerImage = TransformerFlopsPerImage(var.Config);
            foreach (int b in batches)
            {
                var requests = Enumerable.Range(0, b).Select(i => new SampleRequest(i * 37 % var.Config.NumClasses, 1000 + i, new SamplingSettings { Cfg = 1.5, TopK = 900, TopP = 0.96 })).ToList();
                Log($"{dtype} batch {b}: warm-up");
                Time(sampler, requests);
                var times = new List<(double Total, double Transformer, double[] PerScale)>();
                var cpuTimes = new List<double>();
                Conv3x3.ResetCounts();
                for (int r = 0; r < reps; r++)
                {
                    times.Add(Time(sampler, requests));
                    cpuTimes.Add(lastCpuSeconds);
                    Log($"{dtype} batch {b}: {times[^1].Total / b:F3} s/image");
                }
                var best = times.OrderBy(t => t.Total).First();
                var convs = Conv3x3.Counts;
                JsonNode? profile = onGpu ? null : Profile(sampler, requests);
                double perImage = best.Total / b;
                double gflops = flopsPerImage * b / best.Transformer / 1e9;
                double dtypePeak = peak[dtype == "float32" ? "float32" : "bfloat16"]!.GetValue<double>();
                summary[(dtype, b)] = perImage;
                cpuSummary[(dtype, b)] = cpuTimes.Min() / b;
                runs.Add(new JsonObject
                {
                    ["dtype"] = dtype,
                    ["batch"] = b,
                    ["seconds_per_image"] = Math.Round(perImage, 3),
                    ["seconds_per_batch"] = times.Select(t => (JsonNode)Math.Round(t.Total, 3)).ToJsonArray(),
                    ["cpu_seconds_per_image"] = Math.Round(cpuTimes.Min() / b, 3),
                    ["cpu_seconds_per_batch"] = cpuTimes.Select(t => (JsonNode)Math.Round(t, 3)).ToJsonArray(),
                    ["transformer_share"] = Math.Round(best.Transformer / best.Total, 3),
                    ["seconds_per_scale"] = best.PerScale.Select(v => (JsonNode)v).ToJsonArray(),
                    ["vqvae_decode_share"] = Math.Round(1 - best.Transformer / best.Total, 3),
                    ["transformer_gflops"] = Math.Round(gflops, 1),
                    ["transformer_fraction_of_peak"] = Math.Round(gflops / dtypePeak, 3),
                    ["peak_rss_mb"] = Math.Round(ResidentMemory.PeakMb(), 1),
                    ["decode_conv3x3_calls_per_generation"] = new JsonObject { ["torch"] = convs.Torch / reps, ["winograd_avx2"] = convs.Avx2 / reps, ["winograd_avx512"] = convs.Avx512 / reps },
                    ["op_profile"] = profile,
                });
            }
            if (dtype == dtypes[^1] && leakRuns > 0)
            {
                var one = new List<SampleRequest> { new(1, 7, new SamplingSettings()) };
                Time(sampler, one);
                GC.Collect();
                double before = Math.Round(ResidentMemory.CurrentMb(), 1);
                for (int i = 0; i < leakRuns; i++) sampler.Generate(one);
                GC.Collect();
                result["memory"] = new JsonObject
                {
                    ["dtype"] = dtype,
                    ["generations"] = leakRuns,
                    ["rss_mb_before"] = before,
                    ["rss_mb_after"] = Math.Round(ResidentMemory.CurrentMb(), 1),
                    ["peak_rss_mb"] = Math.Round(ResidentMemory.PeakMb(), 1),
                };
            }
        }
        result["runs"] = runs;
        if (dtypes.Contains("bfloat16") && modelName is null) result["bf16_logit_error"] = Bf16LogitError(vaeFile, varFile, dev);
        if (modelName is not null)
        {
            result["model"] = new JsonObject { ["name"] = modelName };
            return result;
        }
        var vs = new JsonObject { ["official_fp32_s_per_image"] = new JsonObject { ["batch1"] = OfficialB1, ["batch4"] = OfficialB4 } };
        foreach (var ((dtype, b), s) in summary)
        {
            double official = b == 1 ? OfficialB1 : b == 4 ? OfficialB4 : double.NaN;
            if (!double.IsNaN(official)) vs[$"speedup_{dtype}_batch{b}"] = Math.Round(official / s, 2);
        }
        result["vs_official"] = vs;
        if (officialHere is not null)
        {
            var here = new JsonObject { ["file"] = Path.GetFullPath(officialFile!), ["official_fp32_s_per_image"] = officialHere.DeepClone() };
            foreach (var ((dtype, b), s) in summary)
                if (officialHere[$"batch{b}"] is JsonValue v) here[$"speedup_{dtype}_batch{b}"] = Math.Round(v.GetValue<double>() / s, 2);
            foreach (var ((dtype, b), s) in cpuSummary)
                if (officialHere[$"cpu_batch{b}"] is JsonValue v) here[$"cpu_time_speedup_{dtype}_batch{b}"] = Math.Round(v.GetValue<double>() / s, 2);
            result["vs_official_same_machine"] = here;
        }
        result["model"] = new JsonObject { ["depth"] = depth, ["width"] = 64 * depth, ["heads"] = depth, ["vocab"] = 4096, ["image_size"] = 256, ["vae"] = "ch160 z32 v4096", ["files"] = new JsonArray(vaeFile, varFile) };
        return result;
    }

    /// <summary>Seconds per image by batch size from official_bench.py's JSON (keys b{B}_s_per_image and decode_*).</summary>
    private static JsonObject ReadOfficial(string file)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(File.ReadAllText(file));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            throw new ArgumentException($"--official {file}: {e.Message}");
        }
        var times = new JsonObject();
        if (node is JsonObject o)
            foreach (var (key, value) in o)
            {
                var m = System.Text.RegularExpressions.Regex.Match(key, @"^b(\d+)_s_per_image$");
                var mc = System.Text.RegularExpressions.Regex.Match(key, @"^b(\d+)_cpu_s_per_image$");
                if (m.Success && value is JsonValue v) times[$"batch{m.Groups[1].Value}"] = v.GetValue<double>();
                else if (mc.Success && value is JsonValue vc) times[$"cpu_batch{mc.Groups[1].Value}"] = vc.GetValue<double>();
                else if (key.StartsWith("decode_", StringComparison.Ordinal) && value is JsonValue d && d.TryGetValue(out double seconds)) times[key] = seconds;
            }
        if (!times.Any(kv => kv.Key.StartsWith("batch", StringComparison.Ordinal)))
            throw new ArgumentException($"--official {file}: no b<B>_s_per_image entries (expected the JSON printed by bench/official/official_bench.py)");
        return times;
    }

    private static ModelBundle LoadRandomPair(string vaeFile, string varFile, int depth, string dtype, Device dev)
    {
        var (vae, var) = ModelLoader.LoadOfficialPair(vaeFile, varFile);
        return new ModelBundle($"d{depth}-random", vae, var, ClassCatalog.Unnamed(var.Config.NumClasses), dev, ModelLoader.ParseDType(dtype));
    }

    private static (double Total, double Transformer, double[] PerScale) Time(ImageGenerator sampler, IReadOnlyList<SampleRequest> requests)
    {
        var marks = new List<double>();
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        sampler.Generate(requests, onScale: _ => marks.Add(clock.Elapsed.TotalSeconds));
        // The images come back as CPU bytes, so the GPU has finished; the per-scale marks on a GPU are launch times.
        if (timedDevice is { type: DeviceType.CUDA } d) cuda.synchronize(d);
        double total = clock.Elapsed.TotalSeconds;
        lastCpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
        var perScale = marks.Select((m, i) => Math.Round(m - (i == 0 ? 0 : marks[i - 1]), 3)).ToArray();
        return (total, marks[^1], perScale);
    }

    // CPU seconds of the process during the last Time() (all threads; with --threads 1 what the generation costs on
    // a shared machine, where wall seconds include waiting for a core).
    [ThreadStatic]
    private static double lastCpuSeconds;

    // The device the timed model runs on; Time() waits for it before reading the clock (null or CPU: no wait).
    [ThreadStatic]
    private static Device? timedDevice;

    /// <summary>
    /// One more generation with <see cref="OpProfile"/> on: seconds and share of the generation per operation (the
    /// transformer's attention, MLP, AdaLN, residual adds and head, the sampler's top-k/top-p and draw, the VQVAE decode
    /// after the last scale, and the rest of the transformer phase: embeddings, token maps, the f̂ update).
    /// </summary>
    internal static JsonObject Profile(ImageGenerator sampler, IReadOnlyList<SampleRequest> requests)
    {
        OpProfile.Reset();
        OpProfile.Enabled = true;
        (double Total, double Transformer, double[] PerScale) t;
        try
        {
            t = Time(sampler, requests);
        }
        finally
        {
            OpProfile.Enabled = false;
        }
        var ops = OpProfile.Seconds();
        var seconds = new JsonObject();
        var shares = new JsonObject();
        void Add(string name, double s)
        {
            seconds[name] = Math.Round(s, 3);
            shares[name] = Math.Round(s / t.Total, 3);
        }
        foreach (var (name, s) in ops.OrderByDescending(kv => kv.Value)) Add(name, s);
        Add("vqvae_decode", t.Total - t.Transformer);
        Add("other", t.Transformer - ops.Values.Sum());
        return new JsonObject { ["seconds_total"] = Math.Round(t.Total, 3), ["seconds"] = seconds, ["share"] = shares };
    }

    /// <summary>Matmul FLOPs of the transformer per image, both CFG rows (attention included; 2 FLOPs per MAC).</summary>
    private static double TransformerFlopsPerImage(VarConfig c)
    {
        double width = c.EmbedDim, macs = 0;
        int seen = 0;
        foreach (var pn in c.PatchNums)
        {
            int l = pn * pn;
            seen += l;
            macs += l * (c.Depth * (12 * width * width + 2 * width * seen) + width * c.VocabSize);
        }
        macs += c.Depth * 6 * width * width + 2 * width * width; // AdaLN projections, once per row
        return 2 * 2 * macs;
    }

    private static double MatmulPeak(ScalarType dtype, int[] sizes, Device dev)
    {
        bool onGpu = dev.type != DeviceType.CPU;
        double best = 0;
        using var noGrad = no_grad();
        foreach (int n in sizes)
        {
            using var scope = NewDisposeScope();
            var a = randn(new long[] { n, n }, dtype: ScalarType.Float32, device: dev).to(dtype);
            var b = randn(new long[] { n, n }, dtype: ScalarType.Float32, device: dev).to(dtype);
            matmul(a, b).Dispose();
            if (onGpu) cuda.synchronize(dev);
            for (int r = 0; r < 3; r++)
            {
                var clock = Stopwatch.StartNew();
                matmul(a, b).Dispose();
                if (onGpu) cuda.synchronize(dev);
                best = Math.Max(best, 2.0 * n * n * n / clock.Elapsed.TotalSeconds / 1e9);
            }
        }
        return best;
    }

    /// <summary>Random official-layout checkpoints (ch-160 VQVAE, VAR of <paramref name="depth"/>) in a work folder, written once.</summary>
    internal static (string Vae, string Var) EnsureCheckpoints(int depth, string? workDir)
    {
        var dir = workDir ?? Path.Combine(Path.GetTempPath(), "var-bench");
        Directory.CreateDirectory(dir);
        var vaeFile = Path.Combine(dir, "vae_ch160v4096z32_random.pth");
        var varFile = Path.Combine(dir, $"var_d{depth}_random.pth");
        if (!File.Exists(vaeFile))
        {
            Log($"writing random official-layout VQVAE to {vaeFile}");
            manual_seed(0);
            using var vae = new MultiScaleVqvae(new VqvaeConfig());
            vae.save_py(vaeFile + ".tmp");
            File.Move(vaeFile + ".tmp", vaeFile);
        }
        if (!File.Exists(varFile))
        {
            Log($"writing random official-layout d{depth} VAR to {varFile}");
            manual_seed(1);
            using var var = new VarTransformer(new VarConfig { Depth = depth, EmbedDim = 64 * depth, NumHeads = depth });
            // Non-trivial modulation so attention and MLPs do real work (the official init uses gamma 1e-5).
            var.InitWeights(Math.Sqrt(1.0 / (3 * 64 * depth)), 0.5, 1e-3, 0.02);
            var.save_py(varFile + ".tmp");
            File.Move(varFile + ".tmp", varFile);
        }
        return (vaeFile, varFile);
    }

    /// <summary>Max |logits_bf16 − logits_fp32| relative to max |logits_fp32| on one teacher-forced batch.</summary>
    private static JsonObject Bf16LogitError(string vaeFile, string varFile, Device dev)
    {
        Log("bf16 vs fp32 logits");
        var (vae, var) = ModelLoader.LoadOfficialPair(vaeFile, varFile);
        using (vae)
        using (var)
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            vae.to(dev);
            var.to(dev);
            var idx = var.Config.PatchNums.Select(pn => randint(0, var.Config.VocabSize, new long[] { 1, pn * pn }).to(dev)).ToArray();
            var input = vae.Quantizer.TokensToVarInput(idx);
            var labels = tensor(new long[] { 3 }, device: dev);
            var a = var.forward(labels, input);
            var.to(ScalarType.BFloat16);
            var b = var.forward(labels, input);
            double maxAbs = a.abs().max().item<float>();
            double err = (a - b).abs().max().item<float>();
            double meanErr = (a - b).abs().mean().item<float>();
            var same = a.argmax(-1).eq(b.argmax(-1)).to(ScalarType.Float32).mean().item<float>();
            return new JsonObject
            {
                ["max_abs_error"] = Math.Round(err, 5),
                ["mean_abs_error"] = Math.Round(meanErr, 6),
                ["max_abs_logit"] = Math.Round(maxAbs, 4),
                ["relative_max_error"] = Math.Round(err / maxAbs, 5),
                ["argmax_agreement"] = Math.Round(same, 4),
            };
        }
    }

    // The /proc/cpuinfo flags that decide which kernels run here (libtorch's bf16 matmul, the Winograd paths).
    private static readonly string[] KernelFlags = ["avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_bf16", "avx512_fp16", "amx_bf16", "amx_tile"];

    /// <summary>The machine as the bench reports it: CPU, cores, threads, the kernel-deciding CPU flags and the Winograd kernel in use.</summary>
    internal static JsonObject Machine()
    {
        var flags = CpuFlags();
        return new JsonObject
        {
            ["cpu"] = CpuName(),
            ["cores"] = Environment.ProcessorCount,
            ["torch_threads"] = get_num_threads(),
            ["cpu_flags"] = KernelFlags.Where(flags.Contains).Select(f => (JsonNode)f).ToJsonArray(),
            ["winograd_kernel"] = Conv3x3.Available && Conv3x3.Enabled ? DecodeBenchCommand.PathName(Conv3x3.Kernel) : "torch",
            ["winograd_best_kernel"] = DecodeBenchCommand.PathName(Conv3x3.BestKernel),
            ["load_average"] = LoadAverage(),
        };
    }

    private static HashSet<string> CpuFlags()
    {
        try
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("flags"));
            return line is null ? [] : line.Split(':', 2)[1].Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
        }
        catch (IOException)
        {
            return [];
        }
    }

    // The 1-minute load average when the bench starts: timings from a loaded machine are not comparable with idle ones.
    private static JsonNode? LoadAverage()
    {
        try
        {
            return double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or FormatException)
        {
            return null;
        }
    }

    private static string CpuName()
    {
        try
        {
            return File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name"))?.Split(':', 2)[1].Trim() ?? "unknown";
        }
        catch (IOException)
        {
            return "unknown";
        }
    }
}
