using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Var.Decoding.Decoders;
using Var.Decoding.Imaging;
using Var.Decoding.Sampling;
using Var.Model;
using Var.Model.Checkpoints;
using Var.Model.Transformer;
using Var.Training.Evaluation;

namespace Var.Cli.Commands;

/// <summary>
/// <c>var bench code</c>: collaborative decoding against the drafter alone and the refiner alone, in one run — images/s
/// per batch size, the peak memory each configuration adds, and (for a model folder with a judge) judge accuracy and
/// Fréchet distance. Prints JSON.
/// </summary>
internal static class CodeBenchCommand
{
    public static Command Create()
    {
        var model = new Option<string?>("--model") { Description = "Model folder with 'var' (drafter) and 'refiner' transformers, e.g. fmnist. Without it: random official-layout drafter and refiner at 256² (speed only)." };
        var batches = new Option<string>("--batches") { Description = "Batch sizes to time (default 1,64 for a model folder, 1 for the 256² random pair)." };
        var draft = new Option<string?>("--draft-scales") { Description = "Hand-over scales N to compare (default K−1, K−2, K−3)." };
        var perClass = new Option<int>("--per-class") { Description = "Images per class for the quality figures (0 = speed only).", DefaultValueFactory = _ => 100 };
        var reps = new Option<int>("--reps") { Description = "Timed repetitions per configuration and batch (after one warm-up).", DefaultValueFactory = _ => 2 };
        var drafterDepth = new Option<int>("--drafter-depth") { Description = "Random pair: drafter depth (width 64·depth).", DefaultValueFactory = _ => 24 };
        var refinerDepth = new Option<int>("--refiner-depth") { Description = "Random pair: refiner depth.", DefaultValueFactory = _ => 16 };
        var work = new Option<string?>("--work") { Description = "Folder for the random official-layout checkpoints (default: a temp folder, reused)." };
        var threads = new Option<int?>("--threads") { Description = "Torch intra-op threads (default: all cores)." };
        var data = new Option<string?>("--data") { Description = "Fashion-MNIST folder for the judge's reference statistics." };
        var seed = new Option<int>("--seed") { Description = "First seed of the judged images (image i gets seed S + i; every configuration draws the same seeds).", DefaultValueFactory = _ => 0 };
        var cmd = new Command("code", "Benchmark collaborative decoding (CoDe) for several hand-over scales against the drafter and the refiner alone: speed, peak memory and judged quality, as JSON.");
        foreach (var o in new Option[] { model, batches, draft, perClass, reps, drafterDepth, refinerDepth, work, threads, data, seed }) cmd.Options.Add(o);
        cmd.SetAction(pr => CommandRunner.Run(() =>
        {
            ModelArguments.ApplyThreads(pr.GetValue(threads));
            var result = Run(pr.GetValue(model), ModelArguments.ParseInts(pr.GetValue(batches)), ModelArguments.ParseInts(pr.GetValue(draft)),
                pr.GetValue(perClass), Math.Max(1, pr.GetValue(reps)), pr.GetValue(drafterDepth), pr.GetValue(refinerDepth), pr.GetValue(work), pr.GetValue(data), pr.GetValue(seed));
            Console.WriteLine(result.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            return 0;
        }));
        return cmd;
    }

    private static void Log(string message) => Console.Error.WriteLine($"[bench code] {message}");

    private static JsonObject Run(string? modelName, int[]? batchList, int[]? draftList, int perClass, int reps, int drafterDepth, int refinerDepth, string? work, string? data, int seed)
    {
        string? folder = modelName is null ? null : ModelLoader.ResolveModelFolder(modelName);
        using var model = folder is not null ? ModelLoader.Load(new ModelSource { Model = folder }) : RandomPair(drafterDepth, refinerDepth, work);
        int k = model.Vqvae.Config.PatchNums.Length;
        var batches = batchList ?? (folder is not null ? [1, 64] : [1]);
        var ns = draftList ?? [k - 1, k - 2, k - 3];
        var configs = new List<(string Name, IDecoder Decoder)>
        {
            ("drafter", new VarDecoding(ModelBundle.DefaultRole)),
            ("refiner", new VarDecoding(CollaborativeDecoding.DefaultRefiner)),
        };
        foreach (int n in ns)
        {
            configs.Add(($"code N={n}", new CollaborativeDecoding(n)));
            // A refiner specialised for this hand-over (train var --teacher … --distill-from N), when shipped.
            var specialised = $"refiner-n{n}";
            if (model.Transformers.ContainsKey(specialised)) configs.Add(($"code N={n} ({specialised})", new CollaborativeDecoding(n, Refiner: specialised)));
        }
        foreach (var (_, d) in configs) d.Plan(model);

        using var evaluator = folder is not null && perClass > 0 ? Evaluator.FromModelFolder(folder, data) : null;
        var settings = model.Sampling with { MoreSmooth = false };
        var rows = new JsonArray();
        var drafterSpeed = new Dictionary<int, double>();
        double drafterMemory = double.NaN, drafterHeap = double.NaN, drafterFd = double.NaN;
        foreach (var (name, decoder) in configs)
        {
            var generator = new ImageGenerator(model, decoder);
            var row = new JsonObject { ["config"] = name, ["decoder"] = new JsonObject { ["kind"] = decoder.Kind }.WithDecoderSettings(decoder, model) };
            if (decoder is VarDecoding v) row["decoder"]!["transformer"] = v.Transformer;
            row["kv_cache_mb_per_image"] = Math.Round(KvCacheBytes(model, decoder) / 1048576.0, 3);
            var speed = new JsonObject();
            foreach (int b in batches)
            {
                var (ips, times, extra, cpu, heap) = TimeBatch(generator, model, settings, b, reps);
                Log($"{name} batch {b}: {ips:F2} images/s, {cpu * 1000:F1} CPU ms/image, +{extra} MB peak" + (double.IsNaN(heap) ? "" : $", +{heap} MB C-heap peak"));
                var entry = new JsonObject { ["images_per_second"] = Math.Round(ips, ips < 1 ? 4 : 2), ["seconds_per_batch"] = new JsonArray(times.Select(t => (JsonNode)Math.Round(t, 3)).ToArray()), ["cpu_ms_per_image"] = Math.Round(cpu * 1000, 2), ["peak_extra_mb"] = extra };
                if (!double.IsNaN(heap)) entry["peak_heap_mb"] = heap;
                if (name == "drafter") drafterSpeed[b] = ips;
                else if (drafterSpeed.TryGetValue(b, out var d)) entry["speedup_vs_drafter"] = Math.Round(ips / d, 2);
                if (b == batches.Max())
                {
                    if (name == "drafter") (drafterMemory, drafterHeap) = (extra, heap);
                    else
                    {
                        if (drafterMemory > 1) entry["peak_memory_vs_drafter"] = Math.Round(extra / drafterMemory, 3);
                        if (drafterHeap > 1) entry["peak_heap_vs_drafter"] = Math.Round(heap / drafterHeap, 3);
                    }
                }
                speed[$"batch{b}"] = entry;
            }
            row["speed"] = speed;
            if (evaluator is not null)
            {
                var (acc, fd, floor) = Judge(generator, evaluator, model, settings, perClass, seed);
                Log($"{name}: judge accuracy {acc:F3}, FD {fd:F2} (floor {floor:F2})");
                var quality = new JsonObject { ["judge_accuracy"] = Math.Round(acc, 4), ["frechet_distance"] = Math.Round(fd, 3), ["frechet_floor_real"] = Math.Round(floor, 3) };
                if (name == "drafter") drafterFd = fd;
                else if (!double.IsNaN(drafterFd)) quality["fd_relative_change_vs_drafter"] = Math.Round(fd / drafterFd - 1, 4);
                row["quality"] = quality;
            }
            rows.Add(row);
        }
        return new JsonObject
        {
            ["machine"] = new JsonObject { ["cores"] = Environment.ProcessorCount, ["torch_threads"] = get_num_threads(), ["cpu_flags"] = CpuFlags() },
            ["model"] = folder is not null
                ? new JsonObject { ["folder"] = folder, ["scales"] = k, ["drafter"] = Describe(model.Transformer), ["refiner"] = Describe(model.TransformerFor(CollaborativeDecoding.DefaultRefiner)) }
                : new JsonObject { ["random_official_layout"] = $"d{drafterDepth} drafter + d{refinerDepth} refiner, 256², ch160 z32 v4096", ["scales"] = k },
            ["settings"] = new JsonObject { ["cfg"] = settings.Cfg, ["top_k"] = settings.TopK, ["top_p"] = settings.TopP, ["per_class"] = evaluator is null ? 0 : perClass, ["seed"] = seed, ["reps"] = reps },
            ["note"] = "images/s: best of the timed repetitions (decode included); peak_extra_mb: the resident-memory peak a configuration adds above the loaded models (VmHWM after the allocator's free pages went back to the system and a reset through /proc/self/clear_refs, minus the resident size before); peak_heap_mb (only when run with LD_PRELOAD=libvarpeak.so, built beside var.dll): the peak of the bytes live in the C heap (every malloc, libtorch's tensors included) above those live before, counted exactly, free of what the allocator keeps resident",
            ["configs"] = rows,
        };
    }

    /// <summary>
    /// Times <paramref name="reps"/> generations of one batch after a warm-up: images/s of the fastest, the wall seconds
    /// of each, the resident-memory peak above the start, and the process's CPU seconds per image of the cheapest
    /// repetition (all threads; with one torch thread on a shared machine this is the work, free of waiting for a core).
    /// </summary>
    internal static (double ImagesPerSecond, List<double> Times, double ExtraMb, double CpuSecondsPerImage, double HeapMb) TimeBatch(ImageGenerator generator, ModelBundle model, SamplingSettings settings, int batch, int reps) =>
        TimeBatches([generator], model, settings, batch, reps)[0];

    /// <summary>
    /// <see cref="TimeBatch"/> for several generators at once, their repetitions interleaved (one of each in turn), so
    /// that a change in the machine's load during the run falls on all of them alike.
    /// </summary>
    internal static List<(double ImagesPerSecond, List<double> Times, double ExtraMb, double CpuSecondsPerImage, double HeapMb)> TimeBatches(
        IReadOnlyList<ImageGenerator> generators, ModelBundle model, SamplingSettings settings, int batch, int reps)
    {
        var requests = TimingRequests(model, settings, batch);
        foreach (var g in generators) g.Generate(requests);
        var times = generators.Select(_ => new List<double>()).ToArray();
        var cpu = generators.Select(_ => double.PositiveInfinity).ToArray();
        var extra = new double[generators.Count];
        var heap = new double[generators.Count];
        using var process = Process.GetCurrentProcess();
        for (int r = 0; r < reps; r++)
            for (int i = 0; i < generators.Count; i++)
            {
                GC.Collect();
                double before = ResidentMemory.ResetPeakMb();
                process.Refresh();
                var cpu0 = process.TotalProcessorTime;
                var clock = Stopwatch.StartNew();
                generators[i].Generate(requests);
                times[i].Add(clock.Elapsed.TotalSeconds);
                process.Refresh();
                cpu[i] = Math.Min(cpu[i], (process.TotalProcessorTime - cpu0).TotalSeconds / batch);
                extra[i] = Math.Max(extra[i], ResidentMemory.PeakMb() - before);
                heap[i] = Math.Max(heap[i], ResidentMemory.HeapPeakExtraMb());
            }
        return generators.Select((_, i) => (batch / times[i].Min(), times[i], Math.Round(extra[i], 1), cpu[i], ResidentMemory.HeapCounterActive ? Math.Round(heap[i], 1) : double.NaN)).ToList();
    }

    /// <summary>The timed batch: <paramref name="batch"/> requests over the classes in turn, seeds from 1000.</summary>
    internal static List<SampleRequest> TimingRequests(ModelBundle model, SamplingSettings settings, int batch) =>
        Enumerable.Range(0, batch).Select(i => new SampleRequest(i * 37 % model.Classes.Count, 1000 + i, settings)).ToList();

    /// <summary>Judge accuracy and Fréchet distance of <paramref name="perClass"/> images per class, image i drawn with seed <paramref name="seed"/> + i.</summary>
    internal static (double Accuracy, double Fd, double Floor) Judge(ImageGenerator generator, Evaluator evaluator, ModelBundle model, SamplingSettings settings, int perClass,
        int seed = 0) =>
        JudgeAll(generator, [evaluator], model, settings, perClass, seed)[0];

    /// <summary>
    /// Generates <paramref name="perClass"/> images of every class (image i seeded <paramref name="seed"/> + i) and scores the same images with
    /// each evaluator (e.g. the judge, and the reward classifier's feature space to choose settings without the judge).
    /// </summary>
    internal static List<(double Accuracy, double Fd, double Floor)> JudgeAll(ImageGenerator generator, IReadOnlyList<Evaluator> evaluators, ModelBundle model, SamplingSettings settings, int perClass, int seed = 0)
    {
        var requests = Enumerable.Range(0, model.Classes.Count).SelectMany(c => Enumerable.Range(0, perClass).Select(_ => c))
            .Select((c, i) => new SampleRequest(c, seed + i, settings)).ToList();
        var images = new List<GeneratedImage>();
        for (int at = 0; at < requests.Count; at += 100) images.AddRange(generator.Generate(requests.Skip(at).Take(100).ToList()).OfType<GeneratedImage>());
        using var scope = NewDisposeScope();
        var batch = ImageCodec.ToTensor(images.Select(i => i.Rgb).ToList(), model.ImageSize, CPU);
        var labels = images.Select(i => i.Request.ClassId).ToList();
        return evaluators.Select(e => e.Evaluate(batch, labels)).Select(r => (r.JudgeAccuracy, r.Fd, r.FdFloor)).ToList();
    }

    /// <summary>
    /// The largest KV cache a configuration holds at once per image (both CFG rows, float32 keys and values): the
    /// drafter's over its scales, then (after it is freed at the hand-over) the refiner's over the whole sequence.
    /// </summary>
    private static double KvCacheBytes(ModelBundle model, IDecoder decoder)
    {
        static double Bytes(VarTransformer t, int tokens) => 2.0 * 2 * t.Config.Depth * tokens * t.Config.EmbedDim * 4;
        return decoder switch
        {
            VarDecoding v => Bytes(model.TransformerFor(v.Transformer), model.Transformer.Config.TotalTokens),
            CollaborativeDecoding c when c.DraftScales >= model.Vqvae.Config.PatchNums.Length => Bytes(model.TransformerFor(c.Drafter), model.Transformer.Config.TotalTokens),
            CollaborativeDecoding c => Math.Max(
                Bytes(model.TransformerFor(c.Drafter), model.TransformerFor(c.Drafter).ScaleRanges[c.DraftScales - 1].End),
                Bytes(model.TransformerFor(c.Refiner), model.Transformer.Config.TotalTokens)),
            _ => double.NaN,
        };
    }

    private static JsonObject Describe(VarTransformer t) => new() { ["depth"] = t.Config.Depth, ["width"] = t.Config.EmbedDim, ["heads"] = t.Config.NumHeads };

    private static ModelBundle RandomPair(int drafterDepth, int refinerDepth, string? work)
    {
        var (vaeFile, drafterFile) = BenchCommand.EnsureCheckpoints(drafterDepth, work);
        var (_, refinerFile) = BenchCommand.EnsureCheckpoints(refinerDepth, work);
        return ModelLoader.Load(new ModelSource { VaeFile = vaeFile, VarFile = drafterFile, RefinerFile = refinerFile });
    }

    internal static string CpuFlags()
    {
        var flags = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal)) ?? "";
        return flags.Contains("avx512_bf16") ? "avx512 + avx512_bf16" : flags.Contains("avx512f") ? "avx512" : flags.Contains("avx2") ? "avx2 + fma" : "baseline";
    }
}
