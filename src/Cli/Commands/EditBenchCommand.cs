using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Var.Decoding.Editing;
using Var.Decoding.Imaging;
using Var.Decoding.Sampling;
using Var.Model.Checkpoints;

namespace Var.Cli.Commands;

/// <summary>
/// <c>var bench edit</c>: what an edit costs against a generation of the same batch (issue 12's target: no more than
/// the generation plus one encode). Alternating timed pairs in one process; prints JSON.
/// </summary>
internal static class EditBenchCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model folder under weights/.", DefaultValueFactory = _ => ModelLoader.DefaultModel };
        var image = new Option<string?>("--image") { Description = "Image to edit (default: docs/edit-input.png of this repository)." };
        var box = new Option<string>("--box") { Description = "Region to regenerate, x0,y0,x1,y1 in [0,1].", DefaultValueFactory = _ => "0.25,0.25,0.75,0.75" };
        var batchSize = new Option<int>("--batch-size") { Description = "Images per batch, for both.", DefaultValueFactory = _ => 64 };
        var reps = new Option<int>("--reps") { Description = "Timed pairs (generation, edit), in alternating order, after one warm-up batch of each.", DefaultValueFactory = _ => 4 };
        var threads = new Option<int?>("--threads") { Description = "Torch intra-op threads (default: all cores)." };
        var cmd = new Command("edit", "Benchmark an edit (one encode of the input + the constrained batch) against a plain generation of the same batch; prints JSON.");
        foreach (var o in new Option[] { model, image, box, batchSize, reps, threads }) cmd.Options.Add(o);
        cmd.SetAction(pr => CommandRunner.Run(() =>
        {
            ModelArguments.ApplyThreads(pr.GetValue(threads));
            var result = Run(pr.GetValue(model)!, pr.GetValue(image) ?? DefaultImage(), pr.GetValue(box)!, Math.Max(1, pr.GetValue(batchSize)), Math.Max(1, pr.GetValue(reps)));
            Console.WriteLine(result.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            return 0;
        }));
        return cmd;
    }

    private static string DefaultImage()
    {
        // Upward from the working directory, then from the program.
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var path = Path.Combine(dir.FullName, "docs", "edit-input.png");
                if (File.Exists(path)) return path;
            }
        }
        throw new FileNotFoundException("docs/edit-input.png not found; give --image");
    }

    private static JsonObject Run(string modelName, string imagePath, string boxText, int batchSize, int reps)
    {
        using var model = ModelLoader.Load(new ModelSource { Model = modelName });
        int size = model.ImageSize;
        var rgb = ImageCodec.LoadRgb(imagePath, size);
        var b = EditInput.ParseBox(boxText);
        var region = EditRegion.Box(size, b[0], b[1], b[2], b[3]);
        var settings = model.Sampling;
        var plain = Enumerable.Range(0, batchSize).Select(i => new SampleRequest(i % model.Classes.Count, 2000 + i, settings)).ToList();
        var generator = new ImageGenerator(model);
        var encodeSeconds = new List<double>();
        double Generation()
        {
            var clock = Stopwatch.StartNew();
            int made = generator.Generate(plain).Count(i => i is not null);
            return made / clock.Elapsed.TotalSeconds;
        }
        double Edit(int rep)
        {
            var clock = Stopwatch.StartNew();
            var target = EditTarget.FromImage(model, rgb, region);
            encodeSeconds.Add(clock.Elapsed.TotalSeconds);
            int made = generator.Generate(plain.Select(r => r with { Edit = target }).ToList()).Count(i => i is not null);
            return made / clock.Elapsed.TotalSeconds;
        }
        Generation();
        Edit(-1);
        encodeSeconds.Clear();
        var result = BatchBenchCommand.Alternate(reps, Generation, Edit, "generation", "edit");
        double genSecondsPerBatch = batchSize / (double)result["generation_mean"]!, editSecondsPerBatch = batchSize / (double)result["edit_mean"]!;
        double encode = encodeSeconds.Average();
        result["model"] = model.Name;
        result["image"] = Path.GetFileName(imagePath);
        result["box"] = boxText;
        result["batch_size"] = batchSize;
        result["torch_threads"] = get_num_threads();
        result["regenerated_tokens"] = EditTarget.FromImage(model, rgb, region).KeepMask.Count(k => k == 0);
        result["encode_seconds_mean"] = Math.Round(encode, 4);
        result["generation_seconds_per_batch"] = Math.Round(genSecondsPerBatch, 3);
        result["edit_seconds_per_batch"] = Math.Round(editSecondsPerBatch, 3);
        result["edit_minus_generation_minus_encode_seconds"] = Math.Round(editSecondsPerBatch - genSecondsPerBatch - encode, 3);
        result["target"] = "edit ≤ generation of the same batch + one encode: edit_minus_generation_minus_encode_seconds ≤ 0 (within the machine's noise, see the pairs)";
        return result;
    }
}
