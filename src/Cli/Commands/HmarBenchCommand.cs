using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Var.Decoding.Decoders;
using Var.Decoding.Sampling;
using Var.Model;
using Var.Model.Checkpoints;
using Var.Model.Classes;
using Var.Model.Classifiers;
using Var.Model.Transformer;
using Var.Training.Evaluation;

namespace Var.Cli.Commands;

/// <summary>
/// <c>var bench hmar</c>: HMAR decoding under several masked-step schedules next to plain VAR of the same model
/// folder, in one run — images/s per batch size, the resident-memory peak each adds, the attention memory computed
/// from the shapes (VAR's KV cache and block-causal scores vs HMAR's one scale at a time), and judge accuracy and
/// Fréchet distance. Prints JSON.
/// </summary>
internal static class HmarBenchCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model folder with a 'var' and an 'hmar' transformer and a judge, e.g. fmnist.", DefaultValueFactory = _ => ModelLoader.DefaultModel };
        var batches = new Option<string>("--batches") { Description = "Batch sizes to time.", DefaultValueFactory = _ => "1,64" };
        var schedules = new Option<string?>("--schedules") { Description = "HMAR passes per scale to compare, ';'-separated lists (e.g. \"1,1,1,1,1,1;1,2,4,1,1,1\"); 'default' = the model's default (model.json hmar.steps_per_scale, else the reference's), 'reference' = the reference default (2 passes on the second scale, 4 on the third). Default: 1 everywhere, the default, 2 and 4 on the coarse scales 1-3, 2 and 4 on every scale." };
        var perClass = new Option<int>("--per-class") { Description = "Images per class for the quality figures (0 = speed only).", DefaultValueFactory = _ => 100 };
        var reps = new Option<int>("--reps") { Description = "Timed repetitions per configuration and batch (after one warm-up).", DefaultValueFactory = _ => 2 };
        var threads = new Option<int?>("--threads") { Description = "Torch intra-op threads (default: all cores)." };
        var data = new Option<string?>("--data") { Description = "Fashion-MNIST folder for the judge's reference statistics." };
        var record = new Option<bool>("--record") { Description = "Also write the default schedule's judged quality into the model folder's model.json (the 'hmar' component's quality)." };
        var randomDepth = new Option<int?>("--random-depth") { Description = "Speed only, instead of --model: random official-layout VAR-dD and HMAR-dD (D blocks + a second 8-block tail, width 64·D; ch-160 VQVAE, 256²), e.g. 16." };
        var dtype = new Option<string>("--dtype") { Description = "With --random-depth: float32 or bfloat16.", DefaultValueFactory = _ => "float32" };
        var work = new Option<string?>("--work") { Description = "With --random-depth: folder for the random checkpoints (default: a temp folder, kept for reuse)." };
        var profile = new Option<bool>("--profile") { Description = "Also profile one generation per configuration at the largest batch: seconds and share per operation (attention, MLP, AdaLN and the modulations, residual adds, head, sampler, VQVAE decode, rest)." };
        var cmd = new Command("hmar", "Benchmark HMAR (default schedule, 1/2/4 passes per scale, extra masked steps on the coarse scales) against VAR of the same model folder: speed, memory and judged quality, as JSON.");
        foreach (var o in new Option[] { model, batches, schedules, perClass, reps, threads, data, record, randomDepth, dtype, work, profile }) cmd.Options.Add(o);
        cmd.SetAction(pr => CommandRunner.Run(() =>
        {
            ModelArguments.ApplyThreads(pr.GetValue(threads));
            var batchSizes = ModelArguments.ParseInts(pr.GetValue(batches)) ?? [1, 64];
            JsonObject result;
            if (pr.GetValue(randomDepth) is { } depth)
            {
                if (depth < 2 || depth % 2 != 0) throw new ArgumentException("--random-depth must be an even depth ≥ 2 (e.g. 16)");
                using var random = RandomBundle(depth, pr.GetValue(dtype)!, pr.GetValue(work));
                result = Run(random, null, batchSizes, pr.GetValue(schedules), 0, Math.Max(1, pr.GetValue(reps)), null, false, pr.GetValue(profile));
            }
            else
            {
                string folder = ModelLoader.ResolveModelFolder(pr.GetValue(model)!);
                using var loaded = ModelLoader.Load(new ModelSource { Model = folder });
                result = Run(loaded, folder, batchSizes, pr.GetValue(schedules), pr.GetValue(perClass), Math.Max(1, pr.GetValue(reps)), pr.GetValue(data), pr.GetValue(record), pr.GetValue(profile));
            }
            Console.WriteLine(result.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            return 0;
        }));
        return cmd;
    }

    private const string RewardRole = "reward";

    private static void Log(string message) => Console.Error.WriteLine($"[bench hmar] {message}");

    /// <summary>The compared schedules (passes per scale; null = the reference default) for a model of <paramref name="scales"/> scales.</summary>
    public static List<(string Name, int[]? Passes)> DefaultSchedules(int scales)
    {
        int[] Coarse(int k) => Enumerable.Range(0, scales).Select(si => si is >= 1 and <= 3 ? k : 1).ToArray();
        int[] All(int k) => Enumerable.Range(0, scales).Select(si => si == 0 ? 1 : k).ToArray();
        return
        [
            ("hmar 1 pass (next-scale only)", All(1)),
            ("hmar default", null),
            ("hmar 2 passes on scales 1-3", Coarse(2)),
            ("hmar 4 passes on scales 1-3", Coarse(4)),
            ("hmar 2 passes on every scale", All(2)),
            ("hmar 4 passes on every scale", All(4)),
        ];
    }

    // The random official-layout pair of the given depth (hmar.md §1: every released HMAR has 8-block tails) on the
    // ch-160 VQVAE of `var bench`, for speed at 256² only.
    private static ModelBundle RandomBundle(int depth, string dtype, string? work)
    {
        var (vaeFile, varFile) = BenchCommand.EnsureCheckpoints(depth, work);
        var (vae, var) = ModelLoader.LoadOfficialPair(vaeFile, varFile);
        manual_seed(2);
        var hmar = new HmarTransformer(new HmarConfig { Backbone = var.Config, TailDepth = Math.Min(8, depth / 2) });
        hmar.InitWeights(Math.Sqrt(1.0 / (3 * var.Config.EmbedDim)), 0.5, 1e-3, 0.02);
        return new ModelBundle($"d{depth}-random", vae, new Dictionary<string, VarTransformer>(StringComparer.Ordinal) { [ModelBundle.DefaultRole] = var }, ModelBundle.DefaultRole,
            new Dictionary<string, ImageClassifier>(), ClassCatalog.Unnamed(var.Config.NumClasses), CPU, ModelLoader.ParseDType(dtype),
            hmar: new Dictionary<string, HmarTransformer>(StringComparer.Ordinal) { [ModelLoader.HmarRole] = hmar });
    }

    private static JsonObject Run(ModelBundle model, string? folder, int[] batches, string? scheduleText, int perClass, int reps, string? data, bool record, bool profile)
    {
        var var = model.Transformer;
        var hmar = model.HmarFor(ModelLoader.HmarRole);
        var patchNums = model.Vqvae.Config.PatchNums;
        var schedules = scheduleText is null
            ? DefaultSchedules(patchNums.Length)
            : scheduleText.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                .Select(s => s switch
                {
                    "default" => (Name: "hmar default", Passes: (int[]?)null),
                    "reference" => (Name: "hmar reference default", Passes: HmarSchedule.Default(patchNums).Passes.ToArray()),
                    _ => (Name: $"hmar {s}", Passes: ModelArguments.ParseInts(s)),
                }).ToList();
        var configs = new List<(string Name, IDecoder Decoder)> { ("var", new VarDecoding(ModelBundle.DefaultRole)) };
        configs.AddRange(schedules.Select(s => (s.Name, (IDecoder)new HmarDecoding(s.Passes))));
        foreach (var (_, d) in configs) d.Plan(model);

        using var evaluator = perClass > 0 && folder is not null ? Evaluator.FromModelFolder(folder, data) : null;
        // The reward classifier's feature space as well: a schedule is chosen on it, never on the judge.
        using var rewardSpace = evaluator is not null && model.Classifiers.ContainsKey(RewardRole)
            ? new Evaluator([(RewardRole, ModelLoader.LoadClassifier(folder!, RewardRole))], data) : null;
        var settings = model.Sampling with { MoreSmooth = false };
        var rows = new JsonArray();
        double varFd = double.NaN, varRewardFd = double.NaN;
        JsonObject? recorded = null;
        var generators = configs.Select(c => new ImageGenerator(model, c.Decoder)).ToList();
        // Speed first, every configuration's repetitions interleaved per batch size (var is index 0).
        var speeds = configs.Select(_ => new JsonObject()).ToArray();
        foreach (int b in batches)
        {
            var timed = CodeBenchCommand.TimeBatches(generators, model, settings, b, reps);
            for (int i = 0; i < configs.Count; i++)
            {
                var (ips, times, extra, cpu, heap) = timed[i];
                Log($"{configs[i].Name} batch {b}: {ips:F2} images/s, {cpu * 1000:F1} CPU ms/image, +{extra} MB peak" + (double.IsNaN(heap) ? "" : $", +{heap} MB C-heap peak"));
                var entry = new JsonObject { ["images_per_second"] = Math.Round(ips, 2), ["seconds_per_batch"] = new JsonArray(times.Select(t => (JsonNode)Math.Round(t, 3)).ToArray()), ["cpu_ms_per_image"] = Math.Round(cpu * 1000, 2), ["peak_extra_mb"] = extra };
                if (!double.IsNaN(heap)) entry["peak_heap_mb"] = heap;
                if (i > 0)
                {
                    entry["speedup_vs_var"] = Math.Round(ips / timed[0].ImagesPerSecond, 3);
                    entry["cpu_speedup_vs_var"] = Math.Round(timed[0].CpuSecondsPerImage / cpu, 3);
                    if (b == batches.Max() && timed[0].ExtraMb > 1) entry["peak_memory_vs_var"] = Math.Round(extra / timed[0].ExtraMb, 3);
                    if (b == batches.Max() && timed[0].HeapMb > 1) entry["peak_heap_vs_var"] = Math.Round(heap / timed[0].HeapMb, 3);
                }
                speeds[i][$"batch{b}"] = entry;
            }
        }
        for (int ci = 0; ci < configs.Count; ci++)
        {
            var (name, decoder) = configs[ci];
            var generator = generators[ci];
            var row = new JsonObject { ["config"] = name, ["decoder"] = new JsonObject { ["kind"] = decoder.Kind }.WithDecoderSettings(decoder, model) };
            if (decoder is HmarDecoding h)
            {
                var schedule = h.Schedule(model);
                row["tokens_per_pass"] = new JsonArray(schedule.TokensPerPass.Select(t => (JsonNode)new JsonArray(t.Select(n => (JsonNode)n).ToArray())).ToArray());
                row["transformer_passes"] = schedule.Passes.Sum();
            }
            else
            {
                row["transformer_passes"] = patchNums.Length;
            }
            var speed = speeds[ci];
            row["speed"] = speed;
            if (profile)
            {
                int b = batches.Max();
                row["profile"] = BenchCommand.Profile(generator, CodeBenchCommand.TimingRequests(model, settings, b));
                row["profile"]!["batch"] = b;
            }
            if (evaluator is not null)
            {
                var scored = CodeBenchCommand.JudgeAll(generator, rewardSpace is null ? [evaluator] : [evaluator, rewardSpace], model, settings, perClass);
                var (acc, fd, floor) = scored[0];
                Log($"{name}: judge accuracy {acc:F3}, FD {fd:F2} (floor {floor:F2})");
                var quality = new JsonObject { ["judge_accuracy"] = Math.Round(acc, 4), ["frechet_distance"] = Math.Round(fd, 3), ["frechet_floor_real"] = Math.Round(floor, 3) };
                if (name == "var") varFd = fd;
                else if (!double.IsNaN(varFd)) quality["fd_relative_change_vs_var"] = Math.Round(fd / varFd - 1, 4);
                if (rewardSpace is not null)
                {
                    var (racc, rfd, rfloor) = scored[1];
                    Log($"{name}: reward classifier accuracy {racc:F3}, FD in its features {rfd:F2} (floor {rfloor:F2})");
                    var reward = new JsonObject { ["accuracy"] = Math.Round(racc, 4), ["frechet_distance"] = Math.Round(rfd, 3), ["frechet_floor_real"] = Math.Round(rfloor, 3) };
                    if (name == "var") varRewardFd = rfd;
                    else if (!double.IsNaN(varRewardFd)) reward["fd_relative_change_vs_var"] = Math.Round(rfd / varRewardFd - 1, 4);
                    quality["reward_space"] = reward;
                }
                row["quality"] = quality;
                if (decoder is HmarDecoding { PassesPerScale: null } && batches.Contains(64))
                {
                    recorded = new JsonObject
                    {
                        ["images"] = perClass * model.Classes.Count,
                        ["judge_accuracy"] = Math.Round(acc, 3),
                        ["fd"] = Math.Round(fd, 3),
                        ["fd_floor"] = Math.Round(floor, 3),
                        ["fd_ratio"] = Math.Round(fd / floor, 2),
                        ["settings"] = $"cfg{settings.Cfg}-k{settings.TopK}-p{settings.TopP}",
                        ["steps_per_scale"] = string.Join(",", ((HmarDecoding)decoder).Schedule(model).Passes),
                        ["ms_per_image_batch64"] = Math.Round(1000 / (double)speed["batch64"]!["images_per_second"]!, 1),
                        ["var_same_run"] = new JsonObject { ["judge_accuracy"] = Math.Round(rows[0]!["quality"]!["judge_accuracy"]!.GetValue<double>(), 3), ["fd"] = Math.Round(varFd, 3) },
                        ["by"] = "var bench hmar (docs/hmar/bench-hmar-fmnist.json)",
                    };
                }
            }
            rows.Add(row);
        }
        if (record && recorded is not null && folder is not null)
        {
            Var.Training.Shipping.WeightsPublisher.AddQuality(folder, ModelLoader.HmarRole, new JsonObject { [$"generated_{recorded["settings"]}"] = recorded });
            Log($"recorded the default schedule's quality in {Path.Combine(folder, ModelManifest.FileName)}");
        }
        return new JsonObject
        {
            ["machine"] = new JsonObject { ["cores"] = Environment.ProcessorCount, ["torch_threads"] = get_num_threads(), ["cpu_flags"] = CodeBenchCommand.CpuFlags(), ["load_average_at_end"] = LoadAverage() },
            ["model"] = new JsonObject
            {
                ["folder"] = folder ?? model.Name,
                ["image_size"] = model.ImageSize,
                ["dtype"] = model.ComputeType.ToString(),
                ["scales"] = new JsonArray(patchNums.Select(p => (JsonNode)p).ToArray()),
                ["var"] = new JsonObject { ["depth"] = var.Config.Depth, ["width"] = var.Config.EmbedDim, ["heads"] = var.Config.NumHeads, ["parameters"] = var.parameters().Sum(p => p.numel()) },
                ["hmar"] = new JsonObject { ["trunk_depth"] = hmar.Config.BaseDepth, ["tail_depth"] = hmar.Config.TailDepth, ["width"] = hmar.Backbone.EmbedDim, ["heads"] = hmar.Backbone.NumHeads, ["parameters"] = hmar.parameters().Sum(p => p.numel()) },
            },
            ["attention_memory"] = AttentionMemory(var.Config, hmar.Backbone),
            ["settings"] = new JsonObject { ["cfg"] = settings.Cfg, ["top_k"] = settings.TopK, ["top_p"] = settings.TopP, ["per_class"] = evaluator is null ? 0 : perClass, ["seeds"] = "image i of the quality set gets seed i (the same for every configuration)", ["reps"] = reps },
            ["note"] = "images/s: best of the timed repetitions (decode included), the configurations' repetitions interleaved; cpu_ms_per_image: the process's CPU time per image in its cheapest repetition (with --threads 1 the work, independent of other load on the machine); peak_extra_mb: the resident-memory peak a configuration adds above the loaded models (VmHWM after the allocator's free pages went back to the system and a reset through /proc/self/clear_refs, minus the resident size before); passes = transformer forward passes per image (HMAR: next-scale passes + masked steps); peak_heap_mb (only when run with LD_PRELOAD=libvarpeak.so, built beside var.dll): the peak of the bytes live in the C heap (every malloc, libtorch's tensors included) above those live before, counted exactly, free of what the allocator keeps resident",
            ["configs"] = rows,
        };
    }

    /// <summary>
    /// Attention memory per image from the shapes (float32, both CFG rows): VAR holds every layer's keys and values of
    /// the whole sequence (its KV cache) and at the last scale scores of pn_K² queries × L keys; HMAR holds one
    /// layer's keys and values of the current scale only, and scores of pn² × pn². For training (teacher forcing) the
    /// score entries per head: VAR's dense L×L with the block-causal mask vs HMAR's per-scale Σ pn⁴.
    /// </summary>
    public static JsonObject AttentionMemory(VarConfig var, VarConfig hmar)
    {
        const double bytes = 4, rows = 2;
        var pn = var.PatchNums;
        int l = var.TotalTokens, last = pn[^1] * pn[^1];
        double varKv = 2 * rows * var.Depth * l * var.EmbedDim * bytes;
        double varScores = rows * var.NumHeads * last * (double)l * bytes;
        double hmarKv = 2 * rows * last * (double)hmar.EmbedDim * bytes;
        double hmarScores = rows * hmar.NumHeads * (double)last * last * bytes;
        double sumPn4 = pn.Sum(p => Math.Pow(p, 4));
        double causal = 0;
        int cum = 0;
        foreach (int p in pn)
        {
            cum += p * p;
            causal += p * p * (double)cum;
        }
        static double Kb(double b) => Math.Round(b / 1024, 1);
        return new JsonObject
        {
            ["inference_per_image_kb"] = new JsonObject
            {
                ["var_kv_cache"] = Kb(varKv),
                ["var_last_scale_scores"] = Kb(varScores),
                ["hmar_current_scale_kv"] = Kb(hmarKv),
                ["hmar_last_scale_scores"] = Kb(hmarScores),
                ["var_total"] = Kb(varKv + varScores),
                ["hmar_total"] = Kb(hmarKv + hmarScores),
                ["var_over_hmar"] = Math.Round((varKv + varScores) / (hmarKv + hmarScores), 2),
            },
            ["training_score_entries_per_head"] = new JsonObject
            {
                ["dense_l_by_l"] = (double)l * l,
                ["block_causal_nonzero"] = causal,
                ["block_diagonal_per_scale"] = sumPn4,
                ["dense_over_block_diagonal"] = Math.Round(l * (double)l / sumPn4, 2),
                ["block_causal_over_block_diagonal"] = Math.Round(causal / sumPn4, 2),
            },
            ["note"] = "float32, both CFG rows; VAR keeps K and V of every layer for all L tokens until the image is done, HMAR only the current scale's K and V inside one layer (nothing carries over between scales but f_hat)",
        };
    }

    private static string LoadAverage()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Trim();
        }
        catch (IOException)
        {
            return "";
        }
    }
}
