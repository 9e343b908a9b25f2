using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Var.Decoding.Editing;
using Var.Decoding.Imaging;
using Var.Decoding.Sampling;

namespace Var.Cli.Commands;

/// <summary>
/// <c>var edit</c>: zero-shot in-painting, out-painting and class-conditional region editing (var.md §5) with any
/// decoder: the input's tokens are forced outside the region at every scale, the region is sampled.
/// </summary>
internal static class EditCommand
{
    public static Command Create()
    {
        var models = new ModelArguments();
        var sampling = new SamplingOptions();
        var decoders = new DecoderArguments();
        var image = new Option<string>("--image") { Description = "Image to edit (PNG or JPEG; resized and centre-cropped to the model's size).", Required = true };
        var mask = new Option<string?>("--mask") { Description = "Mask PNG/JPEG of any size: white = regenerate, black = keep, transparent = regenerate." };
        var box = new Option<string?>("--box") { Description = "Region to regenerate instead of a mask: x0,y0,x1,y1 in [0,1] (x right, y down)." };
        var mode = new Option<string>("--mode") { Description = "inpaint (no class unless --class), outpaint (without --mask/--box: the image shrunk to --outpaint-scale and centred, the border regenerated) or edit (the region as --class).", DefaultValueFactory = _ => "inpaint" };
        var cls = new Option<string?>("--class") { Description = "Class id or name: required for --mode edit; optional for inpaint/outpaint (default: unconditional)." };
        var outpaintScale = new Option<double>("--outpaint-scale") { Description = "Outpaint without a mask: the image's size in the canvas.", DefaultValueFactory = _ => EditRegion.DefaultOutpaintScale };
        var count = new Option<int>("--count") { Description = "Edits to make.", DefaultValueFactory = _ => 1 };
        var seed = new Option<long>("--seed") { Description = "Base seed: edit i gets seed + i.", DefaultValueFactory = _ => 0 };
        var output = new Option<string>("--out") { Description = "Output folder (created); PNGs plus manifest.jsonl (appended).", DefaultValueFactory = _ => "out" };
        var feather = new Option<int>("--feather") { Description = "Blend the result into the input's pixels over this many pixels outside the region (no seam); beyond it the output is the input. 0 = off.", DefaultValueFactory = _ => 0 };
        var grid = new Option<string?>("--grid") { Description = "Also write one PNG row: the input (for outpainting: the canvas) followed by every edit." };
        var batch = new Option<int>("--batch-size") { Description = "Images per forward batch (results do not depend on it).", DefaultValueFactory = _ => 16 };
        var cmd = new Command("edit", "Inpaint, outpaint or class-edit a region of an image (any decoder); writes PNGs plus manifest.jsonl.");
        models.AddTo(cmd);
        sampling.AddTo(cmd);
        decoders.AddTo(cmd);
        foreach (var o in new Option[] { image, mask, box, mode, cls, outpaintScale, feather, count, seed, output, batch, grid }) cmd.Options.Add(o);
        cmd.SetAction((pr, ct) => Task.FromResult(CommandRunner.Run(() =>
        {
            var kind = (pr.GetValue(mode) ?? "inpaint").Trim().ToLowerInvariant() switch
            {
                "inpaint" => EditKind.Inpaint,
                "outpaint" => EditKind.Outpaint,
                "edit" or "class-edit" => EditKind.ClassEdit,
                var other => throw new ArgumentException($"unknown --mode '{other}' (inpaint, outpaint or edit)"),
            };
            if (pr.GetValue(mask) is not null && pr.GetValue(box) is not null) throw new ArgumentException("give --mask or --box, not both");
            if (kind != EditKind.Outpaint && pr.GetValue(mask) is null && pr.GetValue(box) is null) throw new ArgumentException("--mask or --box names the region to regenerate");
            if (kind == EditKind.ClassEdit && pr.GetValue(cls) is null) throw new ArgumentException("--mode edit needs --class");
            int n = pr.GetValue(count);
            if (n < 1 || n > 100_000) throw new ArgumentException("--count must be in 1..100000");
            int batchSize = pr.GetValue(batch);
            if (batchSize < 1 || batchSize > 1024) throw new ArgumentException("--batch-size must be in 1..1024");
            var imagePath = pr.GetValue(image)!;
            if (!File.Exists(imagePath)) throw new FileNotFoundException($"--image {imagePath}: no such file", imagePath);
            using var model = models.Load(pr);
            int size = model.ImageSize;
            var rgb = ImageCodec.LoadRgb(File.ReadAllBytes(imagePath), size, imagePath);
            float[] region;
            if (pr.GetValue(mask) is { } maskPath)
            {
                if (!File.Exists(maskPath)) throw new FileNotFoundException($"--mask {maskPath}: no such file", maskPath);
                region = ImageCodec.LoadMask(File.ReadAllBytes(maskPath), size, maskPath);
            }
            else if (pr.GetValue(box) is { } boxText)
            {
                var v = ParseBox(boxText);
                region = EditRegion.Box(size, v[0], v[1], v[2], v[3]);
            }
            else (rgb, region) = EditRegion.Outpaint(rgb, size, pr.GetValue(outpaintScale));
            var settings = sampling.Settings(pr, model);
            var decoder = decoders.Create(pr, model);
            int classId = pr.GetValue(cls) is { } c ? model.Classes.Resolve(c) : model.NumClasses;
            int featherRadius = pr.GetValue(feather);
            if (featherRadius < 0 || featherRadius > size) throw new ArgumentException($"--feather must be in 0..{size}");
            var edit = EditTarget.FromImage(model, rgb, region).WithFeather(rgb, region, featherRadius);
            long baseSeed = pr.GetValue(seed);
            var requests = Enumerable.Range(0, n).Select(i => new SampleRequest(classId, baseSeed + i, settings) { Edit = edit }).ToList();
            var outDir = pr.GetValue(output)!;
            Directory.CreateDirectory(outDir);
            var generator = new ImageGenerator(model, decoder);
            using var manifest = new StreamWriter(Path.Combine(outDir, "manifest.jsonl"), append: true);
            string modeName = kind switch { EditKind.Inpaint => "inpaint", EditKind.Outpaint => "outpaint", _ => "edit" };
            string className = classId < model.Classes.Count ? model.Classes.NameOf(classId) : "unconditional";
            int written = 0;
            double seamBorder = 0, seamKept = 0;
            var tiles = new List<byte[]> { rgb };
            for (int start = 0; start < requests.Count; start += batchSize)
            {
                var chunk = requests.Skip(start).Take(batchSize).ToList();
                foreach (var img in generator.Generate(chunk, ct).OfType<GeneratedImage>())
                {
                    var file = $"{Path.GetFileNameWithoutExtension(imagePath)}_{modeName}_{GenerateCommand.FileName(className, classId, img.Request.Seed)}";
                    ImageCodec.SavePng(Path.Combine(outDir, file), img.Rgb, img.Size, img.Size);
                    manifest.WriteLine(new JsonObject
                    {
                        ["file"] = file,
                        ["image"] = Path.GetFullPath(imagePath),
                        ["mode"] = modeName,
                        ["mask"] = pr.GetValue(mask) is { } m ? Path.GetFullPath(m) : null,
                        ["box"] = pr.GetValue(box),
                        ["class"] = classId,
                        ["class_name"] = className,
                        ["seed"] = img.Request.Seed,
                        ["model"] = model.Name,
                        ["decoder"] = decoder.Kind,
                        ["cfg"] = settings.Cfg,
                        ["top_k"] = settings.TopK,
                        ["top_p"] = settings.TopP,
                        ["more_smooth"] = settings.MoreSmooth,
                        ["regenerated_tokens"] = edit.KeepMask.Count(k => k == 0),
                    }.WithDecoderSettings(decoder).ToJsonString());
                    written++;
                    var (border, keptDiff) = EditRegion.Seam(img.Rgb, region, size);
                    seamBorder += border;
                    seamKept += keptDiff;
                    tiles.Add(img.Rgb);
                }
                manifest.Flush();
            }
            if (pr.GetValue(grid) is { } gridPath)
            {
                var (gridRgb, w, h) = ImageCodec.Grid(tiles, size, tiles.Count);
                ImageCodec.SavePng(gridPath, gridRgb, w, h);
            }
            var (inputBorder, inputKept) = EditRegion.Seam(rgb, region, size);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"wrote {written} edits ({modeName}, {edit.KeepMask.Count(k => k == 0)} of {edit.KeepMask.Length} last-scale tokens regenerated) to {outDir}; seam: mean |Δ| of adjacent pixels across the region border {seamBorder / Math.Max(1, written):F2} (the input's own there: {inputBorder:F2}), inside the kept region {seamKept / Math.Max(1, written):F2} (input: {inputKept:F2})"));
            return 0;
        })));
        return cmd;
    }

    private static double[] ParseBox(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length != 4 || !parts.All(p => double.TryParse(p, NumberStyles.Float, CultureInfo.InvariantCulture, out _)))
            throw new ArgumentException($"--box '{text}' is not x0,y0,x1,y1");
        return parts.Select(p => double.Parse(p, CultureInfo.InvariantCulture)).ToArray();
    }
}
