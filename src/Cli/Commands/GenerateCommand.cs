using System.CommandLine;
using System.Diagnostics;
using Var.Decoding.Imaging;
using Var.Decoding.Sampling;

namespace Var.Cli.Commands;

/// <summary><c>var generate</c>: class-conditional images to PNG files plus a manifest.jsonl line per image.</summary>
internal static class GenerateCommand
{
    public static Command Create()
    {
        var models = new ModelArguments();
        var sampling = new SamplingOptions();
        var decoders = new DecoderArguments();
        var classes = new Option<string[]>("--class") { Description = "Class ids or names; repeat the option or separate with commas. 'all' = every class.", Required = true, AllowMultipleArgumentsPerToken = true };
        var count = new Option<int>("--count") { Description = "Images per class.", DefaultValueFactory = _ => 1 };
        var seed = new Option<long>("--seed") { Description = "Base seed: image i of the call (counting over classes, then images) gets seed + i.", DefaultValueFactory = _ => 0 };
        var output = new Option<string>("--out") { Description = "Output folder (created); PNGs plus manifest.jsonl (appended).", DefaultValueFactory = _ => "out" };
        var batch = new Option<int>("--batch-size") { Description = "Images per forward batch (results do not depend on it).", DefaultValueFactory = _ => 16 };
        var grid = new Option<string?>("--grid") { Description = "Also write all images as one PNG grid (a row per class)." };
        var remote = new ServerArguments("Generate on a running service instead of a local engine; the server's model and defaults apply.");
        var cmd = new Command("generate", "Generate class-conditional images (plain VAR, or CoDe with --decoder code) and write PNGs plus manifest.jsonl.");
        models.AddTo(cmd);
        sampling.AddTo(cmd);
        decoders.AddTo(cmd);
        foreach (var o in new Option[] { classes, count, seed, output, batch, grid }) cmd.Options.Add(o);
        remote.AddTo(cmd);
        cmd.SetAction((pr, ct) => Task.FromResult(CommandRunner.Run(() =>
        {
            int perClass = pr.GetValue(count);
            if (perClass < 1 || perClass > 100_000) throw new ArgumentException("--count must be in 1..100000");
            int batchSize = pr.GetValue(batch);
            if (batchSize < 1 || batchSize > 1024) throw new ArgumentException("--batch-size must be in 1..1024");
            if (pr.GetValue(remote.Server) is { } address)
                return RemoteGenerate.Run(address, RemoteSettings.Request(pr, models, sampling, decoders), pr.GetValue(classes)!, perClass, pr.GetValue(seed),
                    pr.GetValue(output)!, pr.GetValue(grid), ct, remote.ClientOptions(pr));
            using var model = models.Load(pr);
            var settings = sampling.Settings(pr, model);
            var decoder = decoders.Create(pr, model);
            var classIds = ResolveClasses(pr.GetValue(classes)!, model.Classes);
            long baseSeed = pr.GetValue(seed);
            var requests = classIds.SelectMany(c => Enumerable.Range(0, perClass).Select(_ => c))
                .Select((c, i) => new SampleRequest(c, baseSeed + i, settings)).ToList();
            var outDir = pr.GetValue(output)!;
            Directory.CreateDirectory(outDir);
            var sampler = new ImageGenerator(model, decoder);
            var all = new List<GeneratedImage>();
            var clock = Stopwatch.StartNew();
            using var manifest = new StreamWriter(Path.Combine(outDir, "manifest.jsonl"), append: true);
            for (int start = 0; start < requests.Count; start += batchSize)
            {
                var chunk = requests.Skip(start).Take(batchSize).ToList();
                var batchClock = Stopwatch.StartNew();
                var images = sampler.Generate(chunk, ct, p =>
                {
                    if (!Console.IsErrorRedirected || p.Scale == p.NumScales - 1)
                        Console.Error.Write($"\r[{start + chunk.Count}/{requests.Count}] scale {p.Scale + 1}/{p.NumScales}{(p.Steps > 1 ? $" step {p.Step}/{p.Steps}" : "")} {p.Elapsed.TotalSeconds:F1}s   ");
                });
                double perImage = batchClock.Elapsed.TotalSeconds / chunk.Count;
                foreach (var img in images.OfType<GeneratedImage>())
                {
                    var r = img.Request;
                    var file = FileName(model.Classes.NameOf(r.ClassId), r.ClassId, r.Seed);
                    ImageCodec.SavePng(Path.Combine(outDir, file), img.Rgb, img.Size, img.Size);
                    var line = ManifestLines.Local(file, model, decoder, r, img.Size);
                    line["seconds"] = Math.Round(perImage, 4);
                    manifest.WriteLine(line.ToJsonString());
                    all.Add(img);
                }
                manifest.Flush();
            }
            Console.Error.WriteLine();
            if (pr.GetValue(grid) is { } gridPath)
            {
                var (rgb, w, h) = ImageCodec.Grid(all.Select(i => i.Rgb).ToList(), model.ImageSize, perClass);
                ImageCodec.SavePng(gridPath, rgb, w, h);
            }
            Console.WriteLine($"wrote {all.Count} images to {outDir} in {clock.Elapsed.TotalSeconds:F1} s ({clock.Elapsed.TotalSeconds / Math.Max(1, all.Count):F3} s/image)");
            return 0;
        })));
        return cmd;
    }

    /// <summary>Output file name of an image, shared by local and remote generation.</summary>
    internal static string FileName(string className, int classId, long seed) =>
        $"{className.Replace(' ', '-').Replace('/', '-')}_c{classId}_s{seed}.png";

    private static List<int> ResolveClasses(IEnumerable<string> values, Var.Model.Classes.ClassCatalog catalog)
    {
        var ids = new List<int>();
        foreach (var v in values.SelectMany(v => v.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)))
        {
            if (v.Equals("all", StringComparison.OrdinalIgnoreCase)) ids.AddRange(Enumerable.Range(0, catalog.Count));
            else ids.Add(catalog.Resolve(v));
        }
        if (ids.Count == 0) throw new ArgumentException("--class names no class");
        return ids;
    }
}
