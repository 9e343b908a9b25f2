using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Var.Decoding.Imaging;
using Var.Decoding.Sampling;
using Var.Model;
using Var.Model.Checkpoints;
using Var.Model.Classifiers;
using Var.Training.Classifiers;
using Var.Training.Data;
using Var.Training.Evaluation;
using Var.Training.Runs;
using Var.Training.Subject;

namespace Var.Cli.Subject;

/// <summary>
/// <c>var bench subject</c>: the subject-teaching study on OpenCV's handwritten digits (a subject Fashion-MNIST never
/// saw), one JSON object: for each shot count, and for the ablations (each ingredient removed), the teach time, the
/// new class's fidelity (share a digit judge calls the taught digit), diversity (mean pairwise judge-feature distance
/// against the shots' and real digits'), nearest-shot pixel distance and near-copies, and prior preservation (the
/// base model's judge accuracy and Fréchet distance on the old classes, before and after).
/// </summary>
internal static class SubjectBenchCommand
{
    private sealed record Variant(string Name, int Shots, Func<SubjectTrainOptions, SubjectTrainOptions> Change);

    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Base model", DefaultValueFactory = _ => "fmnist" };
        var digits = new Option<string>("--digits") { Description = "OpenCV digits.png (apt-get install opencv-doc)", DefaultValueFactory = _ => DigitSheet.DefaultPath };
        var digit = new Option<int>("--digit") { Description = "The digit taught as the new class", DefaultValueFactory = _ => 3 };
        var shots = new Option<string>("--shots") { Description = "Shot counts, comma-separated", DefaultValueFactory = _ => "1,3,5,10" };
        var ablationShots = new Option<int>("--ablation-shots") { Description = "Shot count of the ablations (0 = no ablation)", DefaultValueFactory = _ => 5 };
        var steps = new Option<long>("--steps") { Description = "Fine-tuning steps per run", DefaultValueFactory = _ => new SubjectTrainOptions().Steps };
        var newImages = new Option<int>("--new-images") { Description = "Images of the new class generated per run", DefaultValueFactory = _ => 100 };
        var perClass = new Option<int>("--per-class") { Description = "Images per old class for prior preservation (0 = no old-class evaluation)", DefaultValueFactory = _ => 50 };
        var judgeSteps = new Option<long>("--judge-steps") { Description = "Steps of the digit judge's training", DefaultValueFactory = _ => 400 };
        var threads = new Option<int>("--threads") { Description = "Torch threads", DefaultValueFactory = _ => 1 };
        var output = new Option<string>("--out") { Description = "Study folder (runs, models, shots; reused when rerun)", DefaultValueFactory = _ => "runs/subject-study" };
        var docs = new Option<string?>("--pictures") { Description = "Write a PNG per variant (the shots, then generated images) into this folder" };
        var lr = new Option<double>("--lr") { Description = "Peak learning rate of every run", DefaultValueFactory = _ => new SubjectTrainOptions().LearningRate };
        var newCfg = new Option<string?>("--new-class-cfg") { Description = "Guidance for the new class's images, comma-separated to measure each on the same model (default: the model's); the old classes always use the model's defaults" };
        var newTopP = new Option<string?>("--new-class-top-p") { Description = "Top-p for the new class's images, comma-separated to measure each (default: the model's)" };
        var seed = new Option<int>("--seed") { Description = "Seed of the shot pick and of the runs", DefaultValueFactory = _ => 1 };
        var runSeed = new Option<int?>("--run-seed") { Description = "Seed of the fine-tuning runs (default: --seed), to repeat a run on the same shots" };
        var sampleSeed = new Option<int>("--sample-seed") { Description = "Seed of the first generated image of the new class (image i gets this + i)", DefaultValueFactory = _ => 0 };
        var cmd = new Command("subject", "Subject-teaching study on OpenCV digits: fidelity, diversity, copies and prior preservation for several shot counts and the ablations, as JSON");
        foreach (Option o in new Option[] { model, digits, digit, shots, ablationShots, steps, newImages, perClass, judgeSteps, threads, output, docs, lr, newCfg, newTopP, seed, runSeed, sampleSeed }) cmd.Options.Add(o);
        var flags = new SubjectFlags();
        flags.AddTo(cmd);
        cmd.SetAction((pr, ct) => Task.FromResult(Commands.CommandRunner.Run(() =>
        {
            int d = pr.GetValue(digit), n = pr.GetValue(newImages), per = pr.GetValue(perClass), s = pr.GetValue(seed);
            if (d is < 0 or > 9) throw new ArgumentException("--digit must be 0..9");
            set_num_threads(Math.Max(1, pr.GetValue(threads)));
            string study = pr.GetValue(output)!;
            var shotCounts = Commands.ModelArguments.ParseInts(pr.GetValue(shots)) ?? [];
            int abl = pr.GetValue(ablationShots);
            var baseFolder = ModelLoader.ResolveModelFolder(pr.GetValue(model)!);
            var sheet = DigitSheet.Load(pr.GetValue(digits)!, FashionMnist.ImageSide);
            var order = sheet.AllIndices().Where(i => sheet.Label(i) == d).ToArray();
            new Random(s).Shuffle(order);
            int pool = Math.Max(shotCounts.DefaultIfEmpty(0).Max(), abl);
            var shotPool = order.Take(pool).ToArray();
            var realDigit = order.Skip(pool).ToArray();
            void Log(string line) => Console.Error.WriteLine(line);

            using var baseModel = ModelLoader.Load(new ModelSource { Model = baseFolder });
            using var plainJudge = DigitJudge(sheet, shotPool, study, pr.GetValue(judgeSteps), s, null, Log, ct, out double plainJudgeAccuracy);
            using var digitJudge = DigitJudge(sheet, shotPool, study, pr.GetValue(judgeSteps), s, baseModel, Log, ct, out double judgeAccuracy);
            using var evaluator = Evaluator.FromModelFolder(baseFolder);
            var oldSeeds = Enumerable.Range(0, 10 * per).ToArray();
            JsonObject PriorQuality(ModelBundle m)
            {
                var requests = oldSeeds.Select(i => new SampleRequest(i / per, i, m.Sampling)).ToList();
                var images = Generate(m, requests, ct);
                using var scope = NewDisposeScope();
                var r = evaluator.Evaluate(ImageCodec.ToTensor(images, m.ImageSize, CPU), requests.Select(q => q.ClassId).ToList());
                return new JsonObject { ["judge_accuracy"] = Math.Round(r.JudgeAccuracy, 4), ["frechet_distance"] = Math.Round(r.Fd, 3), ["frechet_floor_real"] = Math.Round(r.FdFloor, 3) };
            }
            // The ceiling the tokenizer sets: each digit judge on 100 real digits and on their VQ round trips.
            var real = sheet.Subset(realDigit.Take(100));
            var realRoundTrip = RoundTrip(baseModel, real);
            double realFidelity = Judge(digitJudge, real, d).Fidelity, reconstructionFidelity = Judge(digitJudge, realRoundTrip, d).Fidelity;
            double realPlain = Judge(plainJudge, real, d).Fidelity, reconstructionPlain = Judge(plainJudge, realRoundTrip, d).Fidelity;
            Log($"[study] plain digit judge on 100 real digits {d}: {realPlain:F2}, on their VQ reconstructions: {reconstructionPlain:F2}");
            var before = per > 0 ? PriorQuality(baseModel) : null;
            Log($"[study] VQ-aware digit judge on 100 real digits {d}: {realFidelity:F2}, on their VQ reconstructions: {reconstructionFidelity:F2}");
            if (before is not null) Log($"[study] base model on the old classes: {before.ToJsonString()}");

            var realFeatures = Features(digitJudge, sheet, realDigit.Take(100).ToArray());
            var realPairwise = MeanPairwise(realFeatures);
            var variants = shotCounts.Select(k => new Variant($"shots-{k}", k, o => o)).ToList();
            if (abl > 0)
            {
                double decay = flags.ScaleDecay(pr);
                // Without each ingredient: the scale weighting, the layer selection (the paper's FFN + AdaLN + class
                // row instead of every layer), prior distillation, and the affine copies of the shots.
                variants.Add(new Variant(decay > 0 ? "no-scale-weights" : "scale-weights-0.7", abl, o => o with { ScaleDecay = decay > 0 ? 0 : 0.7 }));
                variants.Add(new Variant("ffn-adaln-layers", abl, o => o with { Layers = ["class", "ffn", "adaln"] }));
                variants.Add(new Variant("no-prior", abl, o => o with { PriorWeight = 0 }));
                variants.Add(new Variant("no-affine-copies", abl, o => o with { Augment = 0, MaxShift = 1 }));
            }
            var results = new JsonArray();
            foreach (var v in variants)
            {
                string shotsDir = Path.Combine(study, "shots", $"{v.Shots}");
                if (!Directory.Exists(shotsDir))
                {
                    Directory.CreateDirectory(shotsDir);
                    for (int i = 0; i < v.Shots; i++) ImageCodec.SavePng(Path.Combine(shotsDir, $"shot{i:D2}.png"), sheet.Rgb(shotPool[i]), sheet.Side, sheet.Side);
                }
                string modelDir = Path.Combine(study, "models", v.Name);
                double teachSeconds;
                if (!File.Exists(Path.Combine(modelDir, ModelManifest.FileName)))
                {
                    var options = v.Change(flags.Apply(new SubjectTrainOptions(), pr) with
                    {
                        Name = v.Name,
                        RunsDirectory = Path.Combine(study, "runs"),
                        Steps = pr.GetValue(steps),
                        LearningRate = pr.GetValue(lr),
                        Seed = pr.GetValue(runSeed) ?? s,
                        ClassName = $"digit {d}",
                        Command = "var " + string.Join(" ", Environment.GetCommandLineArgs().Skip(1)),
                    });
                    if (Directory.Exists(options.RunDirectory)) Directory.Delete(options.RunDirectory, recursive: true);
                    teachSeconds = SubjectTeach.Run(options, baseFolder, shotsDir, modelDir, flags.PriorPerClass(pr), Log, ct).Seconds;
                }
                else teachSeconds = ModelManifest.Read(Path.Combine(modelDir, ModelManifest.FileName)).Components[SubjectTeach.SubjectRole].Quality?["teach_seconds"]?.GetValue<double>() ?? double.NaN;

                using var tuned = ModelLoader.Load(new ModelSource { Model = modelDir });
                int newClass = tuned.NumClasses - 1;
                var shotRgb = shotPool.Take(v.Shots).Select(sheet.Rgb).ToList();
                var shotFeatures = Features(digitJudge, sheet, shotPool.Take(v.Shots).ToArray());
                var realNearest = realDigit.Select(i => shotRgb.Min(sh => Rmse(sheet.Rgb(i), sh))).ToArray();
                double copyThreshold = realNearest.Min();
                JsonObject? after = null, shared = null;
                if (before is not null)
                {
                    after = PriorQuality(tuned);
                    // What the old classes would look like had the tuned transformer drawn them too (no base kept).
                    using var tunedOnly = ModelLoader.Load(new ModelSource { Model = modelDir, Role = SubjectTeach.SubjectRole });
                    shared = PriorQuality(tunedOnly);
                }
                var cfgs = ParseDoubles(pr.GetValue(newCfg)) ?? [tuned.Sampling.Cfg];
                var topPs = ParseDoubles(pr.GetValue(newTopP)) ?? [tuned.Sampling.TopP];
                List<byte[]>? firstGenerated = null;
                foreach (var (cfg, topP) in cfgs.SelectMany(c => topPs.Select(p => (c, p))))
                {
                    var newSettings = tuned.Sampling with { Cfg = cfg, TopP = topP };
                    var generated = Generate(tuned, Enumerable.Range(0, n).Select(i => new SampleRequest(newClass, pr.GetValue(sampleSeed) + i, newSettings)).ToList(), ct);
                    firstGenerated ??= generated;
                    var genSet = new ImageSet(generated, generated.Select(_ => d).ToArray(), sheet.Side);
                    var (fidelity, genFeatures) = Judge(digitJudge, genSet, d);
                    var genNearest = generated.Select(g => shotRgb.Min(sh => Rmse(g, sh))).ToArray();
                    var result = new JsonObject
                    {
                        ["variant"] = v.Name,
                        ["shots"] = v.Shots,
                        ["teach_seconds"] = Math.Round(teachSeconds, 1),
                        ["new_class_cfg"] = newSettings.Cfg,
                        ["new_class_top_p"] = newSettings.TopP,
                        ["first_seed"] = pr.GetValue(sampleSeed),
                        ["fidelity"] = Math.Round(fidelity, 3),
                        ["fidelity_plain_judge"] = Math.Round(Judge(plainJudge, genSet, d).Fidelity, 3),
                        ["diversity_generated"] = Math.Round(MeanPairwise(genFeatures), 3),
                        ["diversity_shots"] = v.Shots > 1 ? Math.Round(MeanPairwise(shotFeatures), 3) : null,
                        ["diversity_real_digits"] = Math.Round(realPairwise, 3),
                        ["nearest_shot_rmse_generated_mean"] = Math.Round(genNearest.Average(), 4),
                        ["nearest_shot_rmse_generated_min"] = Math.Round(genNearest.Min(), 4),
                        ["nearest_shot_rmse_real_mean"] = Math.Round(realNearest.Average(), 4),
                        ["copy_threshold_rmse"] = Math.Round(copyThreshold, 4),
                        ["near_copies"] = genNearest.Count(x => x < copyThreshold),
                    };
                    if (before is not null && after is not null && shared is not null)
                    {
                        result["prior_after"] = after.DeepClone();
                        result["prior_accuracy_change_points"] = Math.Round(100 * (after["judge_accuracy"]!.GetValue<double>() - before["judge_accuracy"]!.GetValue<double>()), 2);
                        result["prior_frechet_change_percent"] = Math.Round(100 * (after["frechet_distance"]!.GetValue<double>() / before["frechet_distance"]!.GetValue<double>() - 1), 1);
                        result["prior_if_tuned_drew_them"] = shared.DeepClone();
                        result["prior_if_tuned_drew_them_accuracy_change_points"] = Math.Round(100 * (shared["judge_accuracy"]!.GetValue<double>() - before["judge_accuracy"]!.GetValue<double>()), 2);
                        result["prior_if_tuned_drew_them_frechet_change_percent"] = Math.Round(100 * (shared["frechet_distance"]!.GetValue<double>() / before["frechet_distance"]!.GetValue<double>() - 1), 1);
                    }
                    Log($"[study] {result.ToJsonString()}");
                    results.Add(result);
                }
                var generatedFirst = firstGenerated!;
                if (pr.GetValue(docs) is { } pictures)
                {
                    Directory.CreateDirectory(pictures);
                    var (rgb, w, h) = ImageCodec.Grid([.. shotRgb, .. Enumerable.Repeat(new byte[sheet.Side * sheet.Side * 3], 10 - Math.Min(10, v.Shots)), .. generatedFirst.Take(20)], sheet.Side, 10);
                    ImageCodec.SavePng(Path.Combine(pictures, $"{v.Name}.png"), rgb, w, h);
                }
            }
            var json = new JsonObject
            {
                ["base_model"] = baseFolder,
                ["digit"] = d,
                ["threads"] = get_num_threads(),
                ["steps"] = pr.GetValue(steps),
                ["learning_rate"] = pr.GetValue(lr),
                ["max_shift"] = flags.Apply(new SubjectTrainOptions(), pr).MaxShift,
                ["new_images"] = n,
                ["old_images"] = oldSeeds.Length,
                ["digit_judge_test_accuracy"] = Math.Round(judgeAccuracy, 4),
                ["plain_digit_judge_test_accuracy"] = Math.Round(plainJudgeAccuracy, 4),
                ["fidelity_real_digits"] = Math.Round(realFidelity, 3),
                ["fidelity_real_digits_vq_reconstructed"] = Math.Round(reconstructionFidelity, 3),
                ["fidelity_plain_judge_real_digits"] = Math.Round(realPlain, 3),
                ["fidelity_plain_judge_real_digits_vq_reconstructed"] = Math.Round(reconstructionPlain, 3),
                ["seed"] = pr.GetValue(seed),
                ["run_seed"] = pr.GetValue(runSeed) ?? pr.GetValue(seed),
                ["prior_before"] = before,
                ["variants"] = results,
            };
            Console.WriteLine(json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            return 0;
        })));
        return cmd;
    }

    /// <summary>
    /// The evaluation-only digit judge: 11 classes, the ten digits (the shot pool left out) and "not a digit"
    /// (Fashion-MNIST images), trained with the classifier trainer; reused from the study folder when finished.
    /// </summary>
    private static ImageClassifier DigitJudge(ImageSet sheet, int[] shotPool, string study, long steps, int seed, ModelBundle? roundTrip, Action<string> log, CancellationToken ct, out double accuracy)
    {
        var options = new ClassifierTrainOptions
        {
            Name = roundTrip is null ? "digit-judge" : "digit-judge-vq",
            RunsDirectory = study,
            Steps = steps,
            Seed = seed,
            Config = ClassifierConfig.Reward with { NumClasses = 11 },
            Command = "var bench subject (digit judge)",
        };
        var summaryPath = options.SummaryPath;
        if (File.Exists(summaryPath) && RunSummary.Read(summaryPath) is { Provenance: var p, Quality: var q } && p["finished"]?.GetValue<bool>() == true)
        {
            accuracy = q["test_accuracy"]?.GetValue<double>() ?? double.NaN;
        }
        else
        {
            var rest = sheet.AllIndices().Except(shotPool).ToArray();
            new Random(seed).Shuffle(rest);
            int testCount = rest.Length / 10;
            var fashion = FashionMnist.Load("train");
            var fashionIdx = fashion.AllIndices().Take(4000).ToArray();
            ImageSet Other(int[] idx)
            {
                using var scope = NewDisposeScope();
                return new ImageSet(ImageCodec.FromTensor(fashion.Batch(idx)), idx.Select(_ => 10).ToArray(), sheet.Side);
            }
            var train = sheet.Subset(rest.Skip(testCount)).Concat(Other(fashionIdx.Skip(500).ToArray()));
            // The VQ-aware judge also learns every training image's VQ round trip under its own label, so that the
            // tokenizer's texture (which every generated image has) does not by itself read as "not a digit".
            if (roundTrip is not null) train = train.Concat(RoundTrip(roundTrip, train));
            var test = sheet.Subset(rest.Take(testCount)).Concat(Other(fashionIdx.Take(500).ToArray()));
            accuracy = ClassifierTrainer.Run(options, train, test, log, ct).TestAccuracy;
        }
        var judge = new ImageClassifier(options.Config);
        using (var sd = StateDict.Read(options.WeightsPath)) sd.LoadInto(judge);
        judge.eval();
        log($"[study] {options.Name} test accuracy {accuracy:F4}");
        return judge;
    }

    /// <summary>The images of <paramref name="set"/> through the model's tokenizer and back (VQ reconstruction), same labels.</summary>
    private static ImageSet RoundTrip(ModelBundle model, ImageSet set)
    {
        var rgbs = new List<byte[]>();
        for (int at = 0; at < set.Count; at += 500)
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var idx = Enumerable.Range(at, Math.Min(500, set.Count - at)).ToArray();
            rgbs.AddRange(ImageCodec.FromTensor(model.Vqvae.Reconstruct(set.Batch(idx).to(model.Device)).cpu()));
        }
        return new ImageSet(rgbs, Enumerable.Range(0, set.Count).Select(set.Label).ToArray(), set.Side);
    }

    private static double[]? ParseDoubles(string? text) =>
        string.IsNullOrWhiteSpace(text) ? null : text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(x => double.Parse(x, System.Globalization.CultureInfo.InvariantCulture)).ToArray();

    private static List<byte[]> Generate(ModelBundle model, IReadOnlyList<SampleRequest> requests, CancellationToken ct)
    {
        var generator = new ImageGenerator(model);
        var images = new List<byte[]>();
        for (int at = 0; at < requests.Count; at += 100)
            images.AddRange(generator.Generate(requests.Skip(at).Take(100).ToList(), ct).OfType<GeneratedImage>().Select(g => g.Rgb));
        return images;
    }

    private static (double Fidelity, float[][] Features) Judge(ImageClassifier judge, ImageSet set, int digit)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var (logits, features) = judge.ForwardWithFeatures(set.Batch(set.AllIndices()));
        double fidelity = logits.argmax(1).eq(digit).to(ScalarType.Float64).mean().item<double>();
        return (fidelity, Rows(features));
    }

    private static float[][] Features(ImageClassifier judge, ImageSet set, int[] indices)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return Rows(judge.Features(set.Batch(indices)));
    }

    private static float[][] Rows(Tensor featuresND)
    {
        long d = featuresND.shape[1];
        var flat = featuresND.contiguous().data<float>().ToArray();
        return Enumerable.Range(0, (int)featuresND.shape[0]).Select(i => flat.AsSpan((int)(i * d), (int)d).ToArray()).ToArray();
    }

    private static double MeanPairwise(float[][] rows)
    {
        double sum = 0;
        long pairs = 0;
        for (int i = 0; i < rows.Length; i++)
        {
            for (int j = i + 1; j < rows.Length; j++)
            {
                sum += Math.Sqrt(rows[i].Zip(rows[j], (a, b) => (double)(a - b) * (a - b)).Sum());
                pairs++;
            }
        }
        return pairs == 0 ? double.NaN : sum / pairs;
    }

    private static double Rmse(byte[] a, byte[] b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double e = (a[i] - b[i]) / 255.0;
            sum += e * e;
        }
        return Math.Sqrt(sum / a.Length);
    }
}
