using System.Diagnostics;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using Var.Client;
using Var.Decoding.Imaging;

namespace Var.Cli.Commands;

/// <summary><c>var generate --server URL</c>: the same files and manifest as a local run, made by a generation service.</summary>
internal static class RemoteGenerate
{
    /// <summary>
    /// Makes <paramref name="perClass"/> images of every class in <paramref name="classValues"/> with the settings of
    /// <paramref name="settings"/> (see <see cref="RemoteSettings.Request"/>); class i's images get seeds
    /// <paramref name="baseSeed"/> + i·perClass + j.
    /// </summary>
    public static int Run(string address, RemoteRequest settings, IEnumerable<string> classValues, int perClass, long baseSeed,
        string outDir, string? gridPath, CancellationToken ct, VarClientOptions? clientOptions = null)
    {
        string? model = settings.Model;
        var classes = classValues.SelectMany(v => v.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)).ToList();
        if (classes.Count == 0) throw new ArgumentException("--class names no class");
        using var remote = new VarClient(address, clientOptions);
        if (classes.Any(c => c.Equals("all", StringComparison.OrdinalIgnoreCase)))
        {
            var listed = remote.ListModelsAsync(ct).GetAwaiter().GetResult();
            var info = listed.Models.FirstOrDefault(m => m.Name == (model ?? listed.DefaultModel))
                ?? throw new ArgumentException($"the server has no model '{model}'");
            classes = classes.SelectMany(c => c.Equals("all", StringComparison.OrdinalIgnoreCase)
                ? Enumerable.Range(0, info.Classes.Count).Select(i => i.ToString()) : [c]).ToList();
        }
        Directory.CreateDirectory(outDir);
        var clock = Stopwatch.StartNew();
        var all = new List<byte[]>();
        int size = 0, written = 0;
        using var manifest = new StreamWriter(Path.Combine(outDir, "manifest.jsonl"), append: true);
        for (int ci = 0; ci < classes.Count; ci++)
        {
            var request = settings with
            {
                Class = classes[ci],
                Count = perClass,
                Seed = baseSeed + (long)ci * perClass,
            };
            IReadOnlyList<RemoteImage> images;
            try
            {
                // A server still starting or loading its model answers UNAVAILABLE, a full queue RESOURCE_EXHAUSTED:
                // the client's retry policy waits and retries both.
                images = remote.StreamAsync(request, p =>
                {
                    if (p.Stage == RemoteStage.Queued) Console.Error.Write($"\r[{classes[ci]}] queued at {p.QueuePosition}   ");
                    else if (p.Stage == RemoteStage.Scale)
                        Console.Error.Write($"\r[{classes[ci]}] scale {p.Scale + 1}/{p.NumScales}{(p.NumSteps > 1 ? $" step {p.Step}/{p.NumSteps}" : "")}   ");
                }, ct).GetAwaiter().GetResult();
            }
            catch (RemoteGenerationException e)
            {
                throw new InvalidOperationException(e.Message, e);
            }
            foreach (var img in images)
            {
                var file = GenerateCommand.FileName(img.ClassName, img.ClassId, img.Seed);
                File.WriteAllBytes(Path.Combine(outDir, file), img.Data);
                var line = ManifestLines.Remote(file, img, address);
                manifest.WriteLine(line.ToJsonString());
                size = img.Size;
                written++;
                if (gridPath is not null)
                {
                    using var decoded = Image.Load<Rgb24>(img.Data);
                    var rgb = new byte[img.Size * img.Size * 3];
                    decoded.CopyPixelDataTo(rgb);
                    all.Add(rgb);
                }
            }
            manifest.Flush();
        }
        Console.Error.WriteLine();
        if (gridPath is not null && all.Count > 0)
        {
            var (rgb, w, h) = ImageCodec.Grid(all, size, perClass);
            ImageCodec.SavePng(gridPath, rgb, w, h);
        }
        Console.WriteLine($"wrote {written} images from {address} to {outDir} in {clock.Elapsed.TotalSeconds:F1} s");
        return 0;
    }
}
