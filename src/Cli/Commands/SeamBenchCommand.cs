using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Var.Decoding.Decoders;
using Var.Decoding.Editing;
using Var.Decoding.Sampling;
using Var.Model;
using Var.Model.Checkpoints;

namespace Var.Cli.Commands;

/// <summary>
/// <c>var bench seam</c>: issue 12's seam target on a set of edits. Inputs are the model's own images (class i mod
/// classes, seeds from 5000), each inpainted in random boxes (seeded; sides 0.25–0.6 of the image) with every decoder
/// and feather radius asked for; per configuration the mean |Δ| of adjacent pixels across the region border, the same
/// for the input there, in the kept band just outside the border and inside the whole kept region, and the share of
/// edits whose border is no larger than either.
/// </summary>
internal static class SeamBenchCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model folder under weights/.", DefaultValueFactory = _ => ModelLoader.DefaultModel };
        var inputs = new Option<int>("--inputs") { Description = "Input images (the model's own samples).", DefaultValueFactory = _ => 20 };
        var boxes = new Option<int>("--boxes") { Description = "Random boxes per input.", DefaultValueFactory = _ => 5 };
        var decoders = new Option<string>("--decoders") { Description = "Decoders, comma-separated: var, hmar.", DefaultValueFactory = _ => "var,hmar" };
        var feathers = new Option<string>("--feathers") { Description = "Feather radii in pixels, comma-separated.", DefaultValueFactory = _ => "0,2" };
        var seed = new Option<int>("--seed") { Description = "Seed of the boxes (the edits use seeds from 100).", DefaultValueFactory = _ => 1 };
        var threads = new Option<int?>("--threads") { Description = "Torch intra-op threads (default: all cores)." };
        var cmd = new Command("seam", "Seam study on a set of inpainting edits (random boxes over the model's own images): border vs kept-region pixel differences per decoder and feather radius; prints JSON.");
        foreach (var o in new Option[] { model, inputs, boxes, decoders, feathers, seed, threads }) cmd.Options.Add(o);
        cmd.SetAction(pr => CommandRunner.Run(() =>
        {
            ModelArguments.ApplyThreads(pr.GetValue(threads));
            var radii = ModelArguments.ParseInts(pr.GetValue(feathers)) ?? [0];
            var result = Run(pr.GetValue(model)!, Math.Max(1, pr.GetValue(inputs)), Math.Max(1, pr.GetValue(boxes)),
                pr.GetValue(decoders)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries), radii, pr.GetValue(seed));
            Console.WriteLine(result.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            return 0;
        }));
        return cmd;
    }

    private static JsonObject Run(string modelName, int inputs, int boxesPerInput, string[] decoderNames, int[] radii, int seed)
    {
        using var model = ModelLoader.Load(new ModelSource { Model = modelName });
        int size = model.ImageSize;
        var settings = model.Sampling;
        var sources = new ImageGenerator(model).Generate(Enumerable.Range(0, inputs).Select(i => new SampleRequest(i % model.Classes.Count, 5000 + i, settings)).ToList())
            .Select(g => g!.Rgb).ToList();
        var rng = new Random(seed);
        var edits = new List<(byte[] Input, float[] Region, string Box)>();
        foreach (var input in sources)
        {
            for (int b = 0; b < boxesPerInput; b++)
            {
                double w = 0.25 + 0.35 * rng.NextDouble(), h = 0.25 + 0.35 * rng.NextDouble();
                double x0 = rng.NextDouble() * (1 - w), y0 = rng.NextDouble() * (1 - h);
                edits.Add((input, EditRegion.Box(size, x0, y0, x0 + w, y0 + h), FormattableString.Invariant($"{x0:F3},{y0:F3},{x0 + w:F3},{y0 + h:F3}")));
            }
        }
        var configs = new JsonArray();
        foreach (var name in decoderNames)
        {
            IDecoder decoder = name switch
            {
                "var" => new VarDecoding(model.DefaultTransformer),
                "hmar" when model.Hmar.ContainsKey(ModelLoader.HmarRole) => new HmarDecoding(null, ModelLoader.HmarRole),
                "hmar" => throw new ArgumentException($"model '{model.Name}' has no hmar transformer"),
                _ => throw new ArgumentException($"--decoders: unknown decoder '{name}' (var, hmar)"),
            };
            var generator = new ImageGenerator(model, decoder);
            foreach (int radius in radii)
            {
                var requests = edits.Select((e, i) => new SampleRequest(model.NumClasses, 100 + i, settings)
                {
                    Edit = EditTarget.FromImage(model, e.Input, e.Region).WithFeather(e.Input, e.Region, radius),
                }).ToList();
                var outputs = new List<byte[]>();
                for (int at = 0; at < requests.Count; at += 64)
                    outputs.AddRange(generator.Generate(requests.Skip(at).Take(64).ToList()).Select(g => g!.Rgb));
                var seams = outputs.Select((rgb, i) => (Out: EditRegion.Seam(rgb, edits[i].Region, size), In: EditRegion.Seam(edits[i].Input, edits[i].Region, size))).ToList();
                configs.Add(new JsonObject
                {
                    ["decoder"] = name,
                    ["feather"] = radius,
                    ["edits"] = seams.Count,
                    ["border_mean"] = Math.Round(seams.Average(s => s.Out.Border), 2),
                    ["input_border_mean"] = Math.Round(seams.Average(s => s.In.Border), 2),
                    ["band_mean"] = Math.Round(seams.Average(s => s.Out.Band), 2),
                    ["input_band_mean"] = Math.Round(seams.Average(s => s.In.Band), 2),
                    ["kept_mean"] = Math.Round(seams.Average(s => s.Out.Kept), 2),
                    ["share_border_at_most_band"] = Math.Round(seams.Count(s => s.Out.Border <= s.Out.Band) / (double)seams.Count, 3),
                    ["share_input_border_at_most_band"] = Math.Round(seams.Count(s => s.In.Border <= s.In.Band) / (double)seams.Count, 3),
                    ["share_border_at_most_kept"] = Math.Round(seams.Count(s => s.Out.Border <= s.Out.Kept) / (double)seams.Count, 3),
                    ["share_input_border_at_most_kept"] = Math.Round(seams.Count(s => s.In.Border <= s.In.Kept) / (double)seams.Count, 3),
                });
            }
        }
        return new JsonObject
        {
            ["model"] = model.Name,
            ["inputs"] = inputs,
            ["boxes_per_input"] = boxesPerInput,
            ["mode"] = "inpaint (unconditional), box sides 0.25-0.6, cfg/top-k/top-p the model's defaults",
            ["torch_threads"] = get_num_threads(),
            ["configs"] = configs,
            ["target"] = "no seam (issue 12): the border's mean |Δ| no larger than the kept region's. kept_mean is the whole kept region, which the unedited inputs fail too (boxes cut outlines, the kept region is mostly flat background); band_mean is the kept pairs just outside the border on the same lines (same orientation and distance), the like-for-like reference",
        };
    }
}
