using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Var.Decoding.Core;
using Var.Decoding.Decoders;
using Var.Decoding.Imaging;
using Var.Decoding.Sampling;
using Var.Decoding.Search;
using Var.Model;
using Var.Model.Checkpoints;
using Var.Training.Evaluation;

namespace Var.Cli.Commands;

/// <summary>
/// <c>var bench tts</c>: TTS-VAR against best-of-N of equal transformer work and plain sampling, in one run — for each
/// budget: judge accuracy, Fréchet distance, mean final reward, tokens through the transformer per image and wall
/// time — plus the study that chose the search's defaults: the Spearman correlation of each scale's partial-image
/// reward with the final reward, and the effective sample size of the resampling weights for a grid of λ. Prints JSON.
/// </summary>
internal static class TtsBenchCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model folder with a 'reward' classifier and a 'judge', e.g. fmnist.", DefaultValueFactory = _ => "fmnist" };
        var budgets = new Option<string>("--budgets") { Description = "Budgets N to compare (transformer work in plain samples).", DefaultValueFactory = _ => "1,2,4,8" };
        var perClass = new Option<int>("--per-class") { Description = "Images per class for each configuration.", DefaultValueFactory = _ => 100 };
        var studyPerClass = new Option<int>("--study-per-class") { Description = "Plain samples per class for the reward-correlation study (0 = skip).", DefaultValueFactory = _ => 100 };
        var reward = new Option<string?>("--reward") { Description = "Reward for TTS-VAR and best-of-N: reward (classifier) or implicit. Default: reward." };
        var lambda = new Option<double?>("--lambda") { Description = "λ for TTS-VAR (default: the model's)." };
        var cluster = new Option<string?>("--cluster-scales") { Description = "Cluster scales for TTS-VAR (default: the model's)." };
        var resample = new Option<string?>("--resample-scales") { Description = "Resample scales for TTS-VAR (default: the model's)." };
        var shape = new Option<string?>("--shape") { Description = "TTS-VAR schedule shape, relative candidates per scale (default: the model's)." };
        var finalDraws = new Option<string?>("--final-draws") { Description = "TTS-VAR: draws of the last scale per survivor from its logits; a comma-separated list compares several (default: the model's)." };
        var resampleDraws = new Option<string?>("--resample-draws") { Description = "TTS-VAR: draws per candidate at each resample scale from its logits; a comma-separated list compares several (default: the model's)." };
        var features = new Option<string?>("--features") { Description = "TTS-VAR clustering features: reward or latent (default: the decoder's)." };
        var rowsPerCall = new Option<int>("--rows") { Description = "Candidate rows per generation call (requests per call = rows / widest).", DefaultValueFactory = _ => 256 };
        var threads = new Option<int?>("--threads") { Description = "Torch intra-op threads (default: all cores)." };
        var data = new Option<string?>("--data") { Description = "Fashion-MNIST folder for the judge's reference statistics." };
        var cmd = new Command("tts", "Benchmark TTS-VAR test-time search against best-of-N of equal transformer work and plain sampling (judge accuracy, Fréchet distance, reward, work, wall time), with the reward-correlation study behind its defaults; prints JSON.");
        foreach (var o in new Option[] { model, budgets, perClass, studyPerClass, reward, lambda, cluster, resample, shape, features, finalDraws, resampleDraws, rowsPerCall, threads, data }) cmd.Options.Add(o);
        cmd.SetAction(pr => CommandRunner.Run(() =>
        {
            ModelArguments.ApplyThreads(pr.GetValue(threads));
            var options = new Options(ModelArguments.ParseInts(pr.GetValue(budgets)) ?? [1, 2, 4, 8], pr.GetValue(perClass), pr.GetValue(studyPerClass),
                pr.GetValue(reward) ?? TtsSearch.DefaultReward, pr.GetValue(lambda), Scales(pr.GetValue(cluster)), Scales(pr.GetValue(resample)),
                Math.Max(1, pr.GetValue(rowsPerCall)), pr.GetValue(data), pr.GetValue(shape) is { } sh ? sh.Split(',').Select(x => double.Parse(x, System.Globalization.CultureInfo.InvariantCulture)).ToArray() : null, pr.GetValue(features), pr.GetValue(finalDraws) is { } fd ? ModelArguments.ParseInts(fd) : null,
                pr.GetValue(resampleDraws) is { } rd ? ModelArguments.ParseInts(rd) : null);
            var result = Run(pr.GetValue(model)!, options);
            Console.WriteLine(result.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            return 0;
        }));
        return cmd;
    }

    private sealed record Options(int[] Budgets, int PerClass, int StudyPerClass, string Reward, double? Lambda, int[]? Cluster, int[]? Resample, int Rows, string? Data, double[]? Shape, string? Features, int[]? FinalDraws, int[]? ResampleDraws);

    private static int[]? Scales(string? text) => text is null ? null : ModelArguments.ParseInts(text) ?? [];

    private static void Log(string message) => Console.Error.WriteLine($"[bench tts] {DateTime.Now:HH:mm:ss} {message}");

    private static JsonObject Run(string modelName, Options o)
    {
        string folder = ModelLoader.ResolveModelFolder(modelName);
        using var model = ModelLoader.Load(new ModelSource { Model = folder });
        using var evaluator = Evaluator.FromModelFolder(folder, o.Data);
        // The reward classifier's feature space as well: the search's defaults are chosen on it, never on the judge.
        using var rewardSpace = new Evaluator([(TtsSearch.DefaultReward, ModelLoader.LoadClassifier(folder, TtsSearch.DefaultReward))], o.Data);
        var settings = model.Sampling with { MoreSmooth = false };
        var result = new JsonObject
        {
            ["machine"] = new JsonObject { ["cores"] = Environment.ProcessorCount, ["torch_threads"] = get_num_threads(), ["cpu_flags"] = CodeBenchCommand.CpuFlags() },
            ["model"] = new JsonObject { ["folder"] = folder, ["patch_nums"] = new JsonArray(model.Vqvae.Config.PatchNums.Select(p => (JsonNode)p).ToArray()) },
            ["settings"] = new JsonObject { ["cfg"] = settings.Cfg, ["top_k"] = settings.TopK, ["top_p"] = settings.TopP, ["per_class"] = o.PerClass, ["reward"] = o.Reward },
        };
        if (o.StudyPerClass > 0) result["study"] = Study(model, settings, o);

        var rows = new JsonArray();
        double plainSeconds = double.NaN;
        foreach (int n in o.Budgets.Order())
        {
            var configs = new List<(string Name, IDecoder Decoder)>();
            if (n == 1) configs.Add(("plain", new VarDecoding()));
            else
            {
                foreach (int? draws in o.FinalDraws is { Length: > 0 } list ? list.Select(d => (int?)d) : [null])
                    foreach (int? rdraws in o.ResampleDraws is { Length: > 0 } rlist ? rlist.Select(d => (int?)d) : [null])
                        configs.Add(((o.FinalDraws?.Length ?? 0) + (o.ResampleDraws?.Length ?? 0) > 2 ? $"tts N={n} draws={draws?.ToString() ?? "default"}/{rdraws?.ToString() ?? "default"}" : $"tts N={n}",
                            new TtsSearch(n, o.Reward) { Lambda = o.Lambda, ClusterScales = o.Cluster, ResampleScales = o.Resample, ScheduleShape = o.Shape, Features = o.Features, FinalDraws = draws, ResampleDraws = rdraws }));
                configs.Add(($"best-of-{n}", TtsSearch.BestOfN(n, o.Reward)));
            }
            foreach (var (name, decoder) in configs)
            {
                var row = Measure(model, evaluator, rewardSpace, settings, name, n, decoder, o);
                double seconds = row["seconds_per_image"]!.GetValue<double>();
                if (name == "plain") plainSeconds = seconds;
                else if (!double.IsNaN(plainSeconds)) row["wall_time_vs_plain"] = Math.Round(seconds / plainSeconds, 2);
                rows.Add(row);
            }
        }
        result["configs"] = rows;
        result["note"] = "tokens_per_image: query tokens through the transformer per image (both CFG halves counted once; plain = the sequence length); work_vs_plain = tokens / plain tokens; mean_reward: the reward classifier's log p(class | final image); judge: the model folder's judge (never seen by a sampler); reward_space: accuracy and Fréchet distance in the reward classifier's features (what the search's defaults are chosen on); final_draws: last-scale draws per survivor (no transformer work; counted in tokens_per_image as the one pass they share)";
        return result;
    }

    private static JsonObject Measure(ModelBundle model, Evaluator evaluator, Evaluator rewardSpace, SamplingSettings settings, string name, int budget, IDecoder decoder, Options o)
    {
        var generator = new ImageGenerator(model, decoder);
        int widest = decoder.RowsPerImage(model);
        int perCall = Math.Max(1, o.Rows / widest);
        var requests = Enumerable.Range(0, model.Classes.Count).SelectMany(c => Enumerable.Range(0, o.PerClass).Select(_ => c))
            .Select((c, i) => new SampleRequest(c, 1_000_000 + i, settings)).ToList();
        long tokens = 0;
        var ess = new Dictionary<int, List<double>>();
        var images = new List<GeneratedImage>();
        var clock = Stopwatch.StartNew();
        for (int at = 0; at < requests.Count; at += perCall)
        {
            var chunk = requests.Skip(at).Take(perCall).ToList();
            images.AddRange(generator.Generate(chunk, onScale: p =>
            {
                if (p.Scale == p.Session.NumScales - 1) tokens += p.Session.QueryTokens;
            }).OfType<GeneratedImage>());
        }
        double seconds = clock.Elapsed.TotalSeconds;
        if (decoder is TtsSearch search)
        {
            // A second, untimed look at the selections for the effective sample sizes (on a few requests).
            var probe = new ImageGenerator(model, search with
            {
                OnSelection = r =>
                {
                    if (r.Kind != "resample") return;
                    if (!ess.TryGetValue(r.Scale, out var list)) ess[r.Scale] = list = [];
                    list.Add(r.EffectiveSampleSize / r.Before);
                },
            });
            probe.Generate(requests.Where((_, i) => i % Math.Max(1, o.PerClass / 10) == 0).Take(perCall).ToList());
        }
        using var scope = NewDisposeScope();
        var x = ImageCodec.ToTensor(images.Select(i => i.Rgb).ToList(), model.ImageSize, CPU);
        var labels = images.Select(i => i.Request.ClassId).ToList();
        var judged = evaluator.Evaluate(x, labels);
        var inRewardSpace = rewardSpace.Evaluate(x, labels);
        double meanReward = MeanReward(model, x, labels);
        int plainTokens = model.Vqvae.Config.PatchNums.Sum(p => p * p);
        double perImage = tokens / (double)images.Count;
        Log($"{name}: judge {judged.JudgeAccuracy:F3}, FD {judged.Fd:F2} (floor {judged.FdFloor:F2}), reward-space FD {inRewardSpace.Fd:F2}, reward {meanReward:F3}, work {perImage / plainTokens:F2}x, {seconds / images.Count * 1000:F1} ms/image");
        var row = new JsonObject
        {
            ["config"] = name,
            ["budget"] = budget,
            ["decoder"] = new JsonObject { ["kind"] = decoder.Kind },
            ["judge_accuracy"] = Math.Round(judged.JudgeAccuracy, 4),
            ["frechet_distance"] = Math.Round(judged.Fd, 3),
            ["frechet_floor_real"] = Math.Round(judged.FdFloor, 3),
            ["mean_reward"] = Math.Round(meanReward, 4),
            ["reward_space"] = new JsonObject
            {
                ["accuracy"] = Math.Round(inRewardSpace.JudgeAccuracy, 4),
                ["frechet_distance"] = Math.Round(inRewardSpace.Fd, 3),
                ["frechet_floor_real"] = Math.Round(inRewardSpace.FdFloor, 3),
            },
            ["tokens_per_image"] = Math.Round(perImage, 1),
            ["work_vs_plain"] = Math.Round(perImage / plainTokens, 3),
            ["seconds_per_image"] = Math.Round(seconds / images.Count, 5),
            ["images"] = images.Count,
        };
        if (decoder is TtsSearch t)
        {
            var (cluster, resample, lambda, schedule) = t.Resolve(model);
            row["decoder"]!["candidates_per_scale"] = new JsonArray(schedule.Candidates.Select(c => (JsonNode)c).ToArray());
            row["decoder"]!["cluster_scales"] = new JsonArray(cluster.Select(c => (JsonNode)c).ToArray());
            row["decoder"]!["resample_scales"] = new JsonArray(resample.Select(c => (JsonNode)c).ToArray());
            row["decoder"]!["lambda"] = lambda;
            row["decoder"]!["reward"] = t.Reward;
            row["decoder"]!["final_draws"] = t.ResolveFinalDraws(model);
            row["decoder"]!["resample_draws"] = t.ResolveResampleDraws(model);
            if (ess.Count > 0) row["decoder"]!["resample_ess_fraction"] = new JsonObject(ess.OrderBy(e => e.Key).Select(e => KeyValuePair.Create($"scale{e.Key}", (JsonNode?)Math.Round(e.Value.Average(), 3))));
        }
        return row;
    }

    private static double MeanReward(ModelBundle model, Tensor images, IReadOnlyList<int> labels)
    {
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        var classifier = model.ClassifierFor(TtsSearch.DefaultReward);
        double sum = 0;
        for (int at = 0; at < labels.Count; at += 500)
        {
            long n = Math.Min(500, labels.Count - at);
            var logp = classifier.forward(images.narrow(0, at, n)).log_softmax(-1);
            var idx = tensor(labels.Skip(at).Take((int)n).Select(l => (long)l).ToArray(), dtype: ScalarType.Int64).unsqueeze(1);
            sum += logp.gather(1, idx).sum().item<float>();
        }
        return sum / labels.Count;
    }

    /// <summary>
    /// Plain samples with every scale's partial-image reward recorded (both rewards): Spearman correlation with the final
    /// reward per scale, and for the chosen reward the mean effective-sample-size fraction of exp(λ·r) over groups of
    /// 8 same-class samples at each scale, for a grid of λ.
    /// </summary>
    private static JsonObject Study(ModelBundle model, SamplingSettings settings, Options o)
    {
        int k = model.Vqvae.Config.PatchNums.Length;
        var requests = Enumerable.Range(0, model.Classes.Count).SelectMany(c => Enumerable.Range(0, o.StudyPerClass).Select(_ => c))
            .Select((c, i) => new SampleRequest(c, 2_000_000 + i, settings)).ToList();
        var study = new JsonObject { ["samples"] = requests.Count, ["method"] = "plain samples; reward of the partial image decoded from f̂ after each scale vs the reward of the final image; Spearman rank correlation pooled over classes and averaged within classes" };
        foreach (var rewardName in new[] { TtsSearch.DefaultReward, ImplicitReward.RoleName })
        {
            var perScale = Enumerable.Range(0, k).Select(_ => new double[requests.Count]).ToArray();
            int offset = 0;
            var decoder = TtsSearch.BestOfN(1, rewardName) with
            {
                OnRewards = (si, session, rewards) =>
                {
                    for (int i = 0; i < session.Count; i++) perScale[si][offset + session.Rows[i].Origin] = rewards[i];
                },
            };
            var generator = new ImageGenerator(model, decoder);
            for (int at = 0; at < requests.Count; at += o.Rows)
            {
                offset = at;
                generator.Generate(requests.Skip(at).Take(o.Rows).ToList());
            }
            var classes = requests.Select(r => r.ClassId).ToArray();
            var final = perScale[k - 1];
            var pooled = new JsonArray();
            var within = new JsonArray();
            for (int si = 0; si < k; si++)
            {
                pooled.Add(Math.Round(Spearman(perScale[si], final), 3));
                within.Add(Math.Round(Enumerable.Range(0, model.Classes.Count).Select(c =>
                {
                    var idx = Enumerable.Range(0, requests.Count).Where(i => classes[i] == c).ToArray();
                    return Spearman(idx.Select(i => perScale[si][i]).ToArray(), idx.Select(i => final[i]).ToArray());
                }).Where(double.IsFinite).DefaultIfEmpty(double.NaN).Average(), 3));
            }
            var entry = new JsonObject { ["spearman_vs_final_pooled"] = pooled, ["spearman_vs_final_within_class"] = within };
            if (rewardName == o.Reward)
            {
                var grid = new[] { 0.5, 1, 2, 4, 8, 16, 32 };
                var essTable = new JsonObject();
                for (int si = 0; si < k - 1; si++)
                {
                    var fractions = new JsonObject();
                    foreach (var lambda in grid)
                    {
                        var values = new List<double>();
                        for (int c = 0; c < model.Classes.Count; c++)
                        {
                            var idx = Enumerable.Range(0, requests.Count).Where(i => classes[i] == c).ToArray();
                            for (int g = 0; g + 8 <= idx.Length; g += 8)
                                values.Add(PotentialSelection.EffectiveSampleSize(PotentialSelection.Weights(idx.Skip(g).Take(8).Select(i => perScale[si][i]).ToArray(), lambda)) / 8);
                        }
                        fractions[lambda.ToString(System.Globalization.CultureInfo.InvariantCulture)] = Math.Round(values.DefaultIfEmpty(double.NaN).Average(), 3);
                    }
                    essTable[$"scale{si}"] = fractions;
                }
                entry["ess_fraction_by_lambda"] = essTable;
            }
            study[rewardName] = entry;
            Log($"study {rewardName}: spearman pooled [{string.Join(", ", pooled)}], within class [{string.Join(", ", within)}]");
        }
        return study;
    }

    private static double Spearman(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        var ra = Ranks(a);
        var rb = Ranks(b);
        double ma = ra.Average(), mb = rb.Average(), sab = 0, saa = 0, sbb = 0;
        for (int i = 0; i < ra.Length; i++)
        {
            sab += (ra[i] - ma) * (rb[i] - mb);
            saa += (ra[i] - ma) * (ra[i] - ma);
            sbb += (rb[i] - mb) * (rb[i] - mb);
        }
        return saa == 0 || sbb == 0 ? double.NaN : sab / Math.Sqrt(saa * sbb);
    }

    // Average ranks (ties share their mean rank).
    private static double[] Ranks(IReadOnlyList<double> x)
    {
        var order = Enumerable.Range(0, x.Count).OrderBy(i => x[i]).ToArray();
        var ranks = new double[x.Count];
        for (int i = 0; i < order.Length;)
        {
            int j = i;
            while (j + 1 < order.Length && x[order[j + 1]] == x[order[i]]) j++;
            for (int t = i; t <= j; t++) ranks[order[t]] = (i + j) / 2.0;
            i = j + 1;
        }
        return ranks;
    }
}
