using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Var.Decoding.Imaging;
using Var.Decoding.Sampling;
using Var.Model.Checkpoints;
using Var.Training.Evaluation;

namespace Var.Cli.Commands;

/// <summary>
/// <c>var eval</c>: generates N images per class and scores them with every independent judge of the model folder
/// ("judge" at the top level, each other judge, e.g. "judge2", under its role): accuracy, Fréchet distance in judge
/// features against the test set, precision/recall (k = 3) and per-class Fréchet distances, each beside its real-data
/// floor at the same sample size, and the tokenizer's reconstruction PSNR. Prints one JSON object.
/// </summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var models = new ModelArguments();
        var sampling = new SamplingOptions();
        var decoders = new DecoderArguments();
        var perClass = new Option<int>("--per-class") { Description = "Images per class.", DefaultValueFactory = _ => 100 };
        var seed = new Option<long>("--seed") { Description = "Base seed (image i gets seed + i).", DefaultValueFactory = _ => 0 };
        var batch = new Option<int>("--batch-size") { Description = "Generation batch size.", DefaultValueFactory = _ => 100 };
        var data = new Option<string?>("--data") { Description = "Fashion-MNIST folder (default /usr/share/datasets/fashion-mnist)." };
        var samples = new Option<string?>("--samples") { Description = "Also write the images as a PNG grid (a row per class, first 10 per class)." };
        var cmd = new Command("eval", "Generate N images per class and report, in the feature space of every judge of the model folder ('judge' at the top level, others such as 'judge2' under their role): judge accuracy, Fréchet distance to the test set, precision and recall (k = 3, against as many label-matched test images) and per-class Fréchet distances, each beside its real-data floor (as many label-matched train images), plus tokenizer PSNR, as JSON. Needs a model folder with a 'judge' component (e.g. weights/fmnist).");
        models.AddTo(cmd);
        sampling.AddTo(cmd);
        decoders.AddTo(cmd);
        foreach (var o in new Option[] { perClass, seed, batch, data, samples }) cmd.Options.Add(o);
        cmd.SetAction((pr, ct) => Task.FromResult(CommandRunner.Run(() =>
        {
            int n = pr.GetValue(perClass);
            if (n < 2 || n > 10_000) throw new ArgumentException("--per-class must be in 2..10000");
            var source = models.Source(pr);
            if (source.VarFile is not null) throw new ArgumentException("eval needs a model folder with a judge (--model), not official files");
            var folder = ModelLoader.ResolveModelFolder(source.Model ?? ModelLoader.DefaultModel);
            using var model = models.Load(pr);
            var settings = sampling.Settings(pr, model);
            var decoder = decoders.Create(pr, model);
            int classes = model.NumClasses;
            long baseSeed = pr.GetValue(seed);
            var requests = Enumerable.Range(0, classes).SelectMany(c => Enumerable.Range(0, n).Select(_ => c))
                .Select((c, i) => new SampleRequest(c, baseSeed + i, settings)).ToList();
            var sampler = new ImageGenerator(model, decoder);
            var images = new List<GeneratedImage>();
            var clock = Stopwatch.StartNew();
            int bs = Math.Max(1, pr.GetValue(batch));
            for (int at = 0; at < requests.Count; at += bs)
            {
                images.AddRange(sampler.Generate(requests.Skip(at).Take(bs).ToList(), ct).OfType<GeneratedImage>());
                Console.Error.Write($"\r[eval] generated {images.Count}/{requests.Count}   ");
            }
            Console.Error.WriteLine();
            double genSeconds = clock.Elapsed.TotalSeconds;
            if (pr.GetValue(samples) is { } gridPath)
            {
                var shown = images.GroupBy(i => i.Request.ClassId).SelectMany(g => g.Take(10)).Select(i => i.Rgb).ToList();
                var (rgb, w, h) = ImageCodec.Grid(shown, model.ImageSize, Math.Min(10, n));
                ImageCodec.SavePng(gridPath, rgb, w, h);
            }
            using var evaluator = Evaluator.FromModelFolderJudges(folder, pr.GetValue(data));
            Console.Error.WriteLine($"[eval] scoring with {string.Join(", ", evaluator.Judges)}");
            using var scope = NewDisposeScope();
            var labels = images.Select(i => i.Request.ClassId).ToList();
            var reports = evaluator.Report(ImageCodec.ToTensor(images.Select(i => i.Rgb).ToList(), model.ImageSize, CPU), labels);
            var result = reports[0].Result;
            var recon = evaluator.TokenizerQuality(model.Vqvae);
            var json = new JsonObject
            {
                ["model"] = model.Name,
                ["transformer"] = source.Role,
                ["decoder"] = new JsonObject { ["kind"] = decoder.Kind }.WithDecoderSettings(decoder, model),
                ["images"] = result.Images,
                ["per_class"] = n,
                ["settings"] = new JsonObject { ["cfg"] = settings.Cfg, ["top_k"] = settings.TopK, ["top_p"] = settings.TopP, ["more_smooth"] = settings.MoreSmooth, ["seed"] = baseSeed },
                ["judge_accuracy"] = Math.Round(result.JudgeAccuracy, 4),
                ["per_class_accuracy"] = new JsonArray(result.PerClassAccuracy.Select(a => (JsonNode)Math.Round(a, 3)).ToArray()),
                ["frechet_distance"] = Math.Round(result.Fd, 3),
                ["frechet_floor_real"] = Math.Round(result.FdFloor, 3),
                ["frechet_ratio"] = Math.Round(result.FdRatio, 2),
            };
            AddFeatureSpaceFigures(json, reports[0]);
            foreach (var other in reports.Skip(1)) json[other.Role] = Figures(other);
            json["judges"] = new JsonArray(reports.Select(r => (JsonNode)r.Role).ToArray());
            json["precision_recall_k"] = PrecisionRecall.DefaultK;
            json["tokenizer_psnr_db"] = Math.Round(recon.PsnrMean, 2);
            json["tokenizer_codebook_usage"] = Math.Round(recon.CodebookUsage, 3);
            json["generation_seconds"] = Math.Round(genSeconds, 1);
            json["seconds_per_image"] = Math.Round(genSeconds / Math.Max(1, images.Count), 4);
            Console.WriteLine(json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            return 0;
        })));
        return cmd;
    }

    // One judge's figures as the top level has them for the primary judge.
    private static JsonObject Figures(JudgeReport report)
    {
        var r = report.Result;
        var json = new JsonObject
        {
            ["judge_accuracy"] = Math.Round(r.JudgeAccuracy, 4),
            ["per_class_accuracy"] = Rounded(r.PerClassAccuracy, 3),
            ["frechet_distance"] = Math.Round(r.Fd, 3),
            ["frechet_floor_real"] = Math.Round(r.FdFloor, 3),
            ["frechet_ratio"] = Math.Round(r.FdRatio, 2),
        };
        AddFeatureSpaceFigures(json, report);
        return json;
    }

    private static void AddFeatureSpaceFigures(JsonObject json, JudgeReport report)
    {
        json["precision"] = Math.Round(report.Coverage.Precision, 4);
        json["recall"] = Math.Round(report.Coverage.Recall, 4);
        json["precision_floor_real"] = Math.Round(report.CoverageFloor.Precision, 4);
        json["recall_floor_real"] = Math.Round(report.CoverageFloor.Recall, 4);
        json["per_class_frechet"] = Rounded(report.PerClassFd, 3);
        json["per_class_frechet_floor_real"] = Rounded(report.PerClassFdFloor, 3);
    }

    // NaN (a class without images) is written as null: JSON has no NaN.
    private static JsonArray Rounded(double[] values, int digits) =>
        new(values.Select(v => double.IsNaN(v) ? null : (JsonNode)Math.Round(v, digits)).ToArray());
}
