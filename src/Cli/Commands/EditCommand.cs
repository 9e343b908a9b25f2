using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Var.Client;
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
        var remote = new ServerArguments("Edit on a running generation service instead of the local engine: same files and manifest; --outpaint-scale stays the service's 0.75.");
        var cmd = new Command("edit", "Inpaint, outpaint or class-edit a region of an image (any decoder); writes PNGs plus manifest.jsonl.");
        models.AddTo(cmd);
        sampling.AddTo(cmd);
        decoders.AddTo(cmd);
        foreach (var o in new Option[] { image, mask, box, mode, cls, outpaintScale, feather, count, seed, output, batch, grid }) cmd.Options.Add(o);
        remote.AddTo(cmd);
        cmd.SetAction((pr, ct) => Task.FromResult(CommandRunner.Run(() =>
        {
            int n = pr.GetValue(count);
            if (n < 1 || n > 100_000) throw new ArgumentException("--count must be in 1..100000");
            int batchSize = pr.GetValue(batch);
            if (batchSize < 1 || batchSize > 1024) throw new ArgumentException("--batch-size must be in 1..1024");
            var imagePath = pr.GetValue(image)!;
            EditInput.Check(imagePath, pr.GetValue(mask), pr.GetValue(box), pr.GetValue(mode), pr.GetValue(cls));
            if (pr.GetValue(remote.Server) is { } address)
            {
                if (pr.GetValue(outpaintScale) != EditRegion.DefaultOutpaintScale) throw new ArgumentException("--outpaint-scale cannot be changed with --server (the service uses 0.75)");
                return RemoteEdit(address, remote.ClientOptions(pr), pr, models, sampling, decoders, imagePath, pr.GetValue(mask), pr.GetValue(box), pr.GetValue(mode)!, pr.GetValue(cls),
                    pr.GetValue(feather), n, pr.GetValue(seed), pr.GetValue(output)!, ct);
            }
            using var model = models.Load(pr);
            int size = model.ImageSize;
            var settings = sampling.Settings(pr, model);
            var decoder = decoders.Create(pr, model);
            var input = EditInput.Load(model, imagePath, pr.GetValue(mask), pr.GetValue(box), pr.GetValue(mode), pr.GetValue(cls), pr.GetValue(outpaintScale), pr.GetValue(feather));
            var (rgb, region, edit, classId, modeName) = (input.Rgb, input.Region, input.Target, input.ClassId, input.ModeName);
            long baseSeed = pr.GetValue(seed);
            var requests = Enumerable.Range(0, n).Select(i => new SampleRequest(classId, baseSeed + i, settings) { Edit = edit }).ToList();
            var outDir = pr.GetValue(output)!;
            Directory.CreateDirectory(outDir);
            var generator = new ImageGenerator(model, decoder);
            using var manifest = new StreamWriter(Path.Combine(outDir, "manifest.jsonl"), append: true);
            string className = classId < model.Classes.Count ? model.Classes.NameOf(classId) : "unconditional";
            int written = 0;
            double seamBorder = 0, seamKept = 0, seamBand = 0;
            var tiles = new List<byte[]> { rgb };
            for (int start = 0; start < requests.Count; start += batchSize)
            {
                var chunk = requests.Skip(start).Take(batchSize).ToList();
                foreach (var img in generator.Generate(chunk, ct).OfType<GeneratedImage>())
                {
                    var file = $"{Path.GetFileNameWithoutExtension(imagePath)}_{modeName}_{GenerateCommand.FileName(className, classId, img.Request.Seed)}";
                    ImageCodec.SavePng(Path.Combine(outDir, file), img.Rgb, img.Size, img.Size);
                    var line = ManifestLines.Local(file, model, decoder, img.Request, img.Size);
                    line["image"] = Path.GetFullPath(imagePath);
                    line["mode"] = modeName;
                    line["mask"] = pr.GetValue(mask) is { } m ? Path.GetFullPath(m) : null;
                    line["box"] = pr.GetValue(box);
                    line["regenerated_tokens"] = edit.KeepMask.Count(k => k == 0);
                    manifest.WriteLine(line.ToJsonString());
                    written++;
                    var seam = EditRegion.Seam(img.Rgb, region, size);
                    seamBorder += seam.Border;
                    seamKept += seam.Kept;
                    seamBand += seam.Band;
                    tiles.Add(img.Rgb);
                }
                manifest.Flush();
            }
            if (pr.GetValue(grid) is { } gridPath)
            {
                var (gridRgb, w, h) = ImageCodec.Grid(tiles, size, tiles.Count);
                ImageCodec.SavePng(gridPath, gridRgb, w, h);
            }
            var own = EditRegion.Seam(rgb, region, size);
            int made = Math.Max(1, written);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"wrote {written} edits ({modeName}, {edit.KeepMask.Count(k => k == 0)} of {edit.KeepMask.Length} last-scale tokens regenerated) to {outDir}; seam: mean |Δ| of adjacent pixels across the region border {seamBorder / made:F2} (the input's own there: {own.Border:F2}), in the kept band just outside it {seamBand / made:F2} (input: {own.Band:F2}), inside the whole kept region {seamKept / made:F2} (input: {own.Kept:F2})"));
            return 0;
        })));
        return cmd;
    }

    // var edit --server: one Edit call; the files and manifest lines of a local run, with the server's settings.
    private static int RemoteEdit(string address, VarClientOptions clientOptions, ParseResult pr, ModelArguments models, SamplingOptions sampling, DecoderArguments decoders,
        string imagePath, string? maskPath, string? box, string mode, string? cls, int feather, int n, long baseSeed, string outDir, CancellationToken ct)
    {
        using var remote = new VarClient(address, clientOptions);
        var request = new RemoteEdit
        {
            Generation = RemoteSettings.Request(pr, models, sampling, decoders) with
            {
                Class = cls ?? "",
                Count = n,
                Seed = baseSeed,
            },
            Image = File.ReadAllBytes(imagePath),
            Mask = maskPath is null ? null : File.ReadAllBytes(maskPath),
            Box = box is null ? null : EditInput.ParseBox(box),
            Mode = mode,
            Feather = feather,
        };
        IReadOnlyList<RemoteImage> images;
        try
        {
            images = remote.EditAsync(request, p =>
            {
                if (p.Stage == RemoteStage.Scale) Console.Error.Write($"\r[edit] scale {p.Scale + 1}/{p.NumScales}   ");
            }, ct).GetAwaiter().GetResult();
        }
        catch (RemoteGenerationException e)
        {
            throw new InvalidOperationException(e.Message, e);
        }
        Console.Error.WriteLine();
        Directory.CreateDirectory(outDir);
        using var manifest = new StreamWriter(Path.Combine(outDir, "manifest.jsonl"), append: true);
        string modeName = mode.Trim().ToLowerInvariant();
        foreach (var img in images)
        {
            var file = $"{Path.GetFileNameWithoutExtension(imagePath)}_{modeName}_{GenerateCommand.FileName(img.ClassName, img.ClassId, img.Seed)}";
            File.WriteAllBytes(Path.Combine(outDir, file), img.Data);
            var line = ManifestLines.Remote(file, img, address);
            line["image"] = Path.GetFullPath(imagePath);
            line["mode"] = modeName;
            line["mask"] = maskPath is null ? null : Path.GetFullPath(maskPath);
            line["box"] = box;
            manifest.WriteLine(line.ToJsonString());
        }
        Console.WriteLine($"wrote {images.Count} edits ({modeName}) from {address} to {outDir}");
        return 0;
    }
}
