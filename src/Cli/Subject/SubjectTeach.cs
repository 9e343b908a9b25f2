using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Var.Cli.Commands;
using Var.Decoding.Imaging;
using Var.Decoding.Sampling;
using Var.Model;
using Var.Model.Checkpoints;
using Var.Training.Shipping;
using Var.Training.Subject;

namespace Var.Cli.Subject;

/// <summary>
/// The teach step behind <c>var train subject</c> and <c>var bench subject</c>: checks the input (every check before
/// anything is written), reads the shots with the image codec's resize/crop policy, has the frozen base model generate
/// the prior token maps with the ordinary sampler, fine-tunes (<see cref="SubjectTrainer"/>) and publishes the model
/// folder (the base's tokenizer copied, the tuned transformer, model.json with the new class).
/// </summary>
internal static class SubjectTeach
{
    /// <summary>Fewest and most shots accepted.</summary>
    public const int MinImages = 1, MaxImages = 20;

    /// <summary>
    /// Role of the tuned transformer in a taught model: it draws the new class (model.json <c>class_transformers</c>);
    /// the default <c>var</c> is the untouched base with the class row added and draws every old class as before.
    /// </summary>
    public const string SubjectRole = "subject";

    /// <summary>Seed of the first prior sample (image i of the prior gets PriorSeed + i).</summary>
    public const long PriorSeed = 1_000_000;

    /// <summary>Held-out prior samples per class (drift measure, never trained on).</summary>
    public const int HeldOutPerClass = 5;

    /// <summary>The image files of <paramref name="directory"/> (every visible regular file; sorted), checked for count.</summary>
    public static IReadOnlyList<string> ImageFiles(string directory)
    {
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"--images {directory}: no such folder");
        var files = Directory.EnumerateFiles(directory).Where(f => !Path.GetFileName(f).StartsWith('.')).OrderBy(f => f, StringComparer.Ordinal).ToList();
        if (files.Count < MinImages) throw new ArgumentException($"--images {directory}: no images (PNG or JPEG files) in the folder");
        if (files.Count > MaxImages) throw new ArgumentException($"--images {directory}: {files.Count} files; at most {MaxImages} images are accepted");
        return files;
    }

    /// <summary>Checks a new class name against the base model's classes.</summary>
    public static void CheckName(string name, ModelBundle baseModel)
    {
        if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException("--name: the new class needs a name");
        if (name.Contains(',')) throw new ArgumentException($"--name '{name}': a class name cannot contain a comma");
        if (int.TryParse(name, out _)) throw new ArgumentException($"--name '{name}': a class name cannot be a number (numbers are class ids)");
        for (int id = 0; id < baseModel.Classes.Count; id++)
        {
            if (baseModel.Classes.SynonymsOf(id).Any(s => string.Equals(s, name.Trim(), StringComparison.OrdinalIgnoreCase)))
                throw new ArgumentException($"--name '{name}': model '{baseModel.Name}' already has a class of that name (id {id}, {baseModel.Classes.NameOf(id)})");
        }
    }

    /// <summary>Refuses an output folder that holds anything (unless resuming) or that is the base model's folder.</summary>
    public static void CheckOut(string outFolder, string baseFolder, bool resume)
    {
        var full = Path.GetFullPath(outFolder);
        if (string.Equals(full.TrimEnd('/'), Path.GetFullPath(baseFolder).TrimEnd('/'), StringComparison.Ordinal))
            throw new ArgumentException($"--out {outFolder} is the base model's folder");
        if (!resume && Directory.Exists(full) && Directory.EnumerateFileSystemEntries(full).Any())
            throw new ArgumentException($"--out {outFolder} already exists and is not empty (choose another folder, or --resume)");
    }

    /// <summary>Runs the whole teach step; returns the trainer's outcome and the wall seconds of the step.</summary>
    public static (SubjectTrainer.Outcome Outcome, double Seconds) Run(SubjectTrainOptions options, string model, string imagesDirectory, string outFolder,
        int priorPerClass, Action<string> log, CancellationToken cancel)
    {
        var clock = Stopwatch.StartNew();
        var files = ImageFiles(imagesDirectory);
        if (priorPerClass < 0 || priorPerClass > 1000) throw new ArgumentException("--prior-per-class must be in 0..1000");
        if (options.Threads > 0) set_num_threads(options.Threads);
        var baseFolder = ModelLoader.ResolveModelFolder(model);
        CheckOut(outFolder, baseFolder, options.Resume);
        using var bundle = ModelLoader.Load(new ModelSource { Model = baseFolder });
        CheckName(options.ClassName, bundle);
        var shots = files.Select(f => ImageCodec.LoadRgb(File.ReadAllBytes(f), bundle.ImageSize, f)).ToList();

        // Everything is checked: from here on the run writes.
        log($"[{options.Name}] {shots.Count} shots from {imagesDirectory}; base model {bundle.Name} ({bundle.NumClasses} classes)");
        var (prior, heldOut, grey) = GeneratePrior(bundle, priorPerClass, log, cancel);
        if (grey) shots = shots.Select(ToGrey).ToList();
        using var scope = NewDisposeScope();
        var shotsNchw = ImageCodec.ToTensor(shots, bundle.ImageSize, CPU);
        var outcome = SubjectTrainer.Run(options with { ClassName = options.ClassName.Trim(), BaseModel = baseFolder },
            bundle.Vqvae, bundle.Transformer, shotsNchw, prior, heldOut, log, cancel);
        if (!outcome.Progress.Finished)
        {
            log($"[{options.Name}] stopped before the last step; rerun with --resume to finish (no model folder written)");
            return (outcome, clock.Elapsed.TotalSeconds);
        }
        var baseManifest = ModelManifest.Read(Path.Combine(baseFolder, ModelManifest.FileName));
        bool bf16 = baseManifest.Component("var", baseFolder).Provenance?["stored_dtype"]?.GetValue<string>() == "bfloat16";
        string name = Path.GetFileName(Path.GetFullPath(outFolder).TrimEnd('/'));
        WeightsPublisher.PublishDerived(baseFolder, outFolder, name,
            $"{bundle.Name} with the class '{options.ClassName.Trim()}' taught from {shots.Count} images (var train subject); " +
            "the base transformer (var) draws the old classes unchanged, its tuned copy (subject) the new one; the CoDe refiner, HMAR, reward and judges are not carried over (they know only the base classes)",
            [.. bundle.Classes.Names.Select((n, id) => string.Join(", ", bundle.Classes.SynonymsOf(id))), options.ClassName.Trim()],
            ["vqvae"], [new PublishedComponent("var", options.BaseCopyDirectory, StoreBf16: bf16), new PublishedComponent(SubjectRole, options.RunDirectory, StoreBf16: bf16)],
            log, new Dictionary<string, string> { [options.ClassName.Trim()] = SubjectRole });
        double seconds = clock.Elapsed.TotalSeconds;
        WeightsPublisher.AddQuality(outFolder, SubjectRole, new JsonObject
        {
            ["teach_seconds"] = Math.Round(seconds, 1),
            ["teach_threads"] = get_num_threads(),
            ["shots"] = new JsonArray(files.Select(f => (JsonNode)new JsonObject
            {
                ["file"] = Path.GetFileName(f),
                ["sha256"] = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))).ToLowerInvariant(),
            }).ToArray()),
        });
        prior.TokensNL.Dispose();
        prior.LabelsN.Dispose();
        heldOut.TokensNL.Dispose();
        heldOut.LabelsN.Dispose();
        log($"[{options.Name}] teach step done in {seconds / 60:F1} min ({get_num_threads()} torch threads)");
        return (outcome, seconds);
    }

    /// <summary>
    /// The base model's samples of every class at its default settings (seeds from <see cref="PriorSeed"/>): the first
    /// <paramref name="perClass"/> of each class for training, <see cref="HeldOutPerClass"/> more held out; and whether
    /// every sample is grey (R = G = B), i.e. whether the model's data is grey.
    /// </summary>
    public static (PriorSamples Train, PriorSamples HeldOut, bool Grey) GeneratePrior(ModelBundle bundle, int perClass, Action<string> log, CancellationToken cancel)
    {
        int each = perClass + HeldOutPerClass;
        var requests = Enumerable.Range(0, bundle.NumClasses).SelectMany(c => Enumerable.Range(0, each).Select(i => (c, i)))
            .Select((x, n) => new SampleRequest(x.c, PriorSeed + n, bundle.Sampling)).ToList();
        var images = new List<GeneratedImage>();
        var clock = Stopwatch.StartNew();
        const int batch = 64;
        for (int at = 0; at < requests.Count; at += batch)
            images.AddRange(new ImageGenerator(bundle).Generate(requests.Skip(at).Take(batch).ToList(), cancel).OfType<GeneratedImage>());
        log($"[subject] prior: {images.Count} samples of the base model in {clock.Elapsed.TotalSeconds:F1} s");
        bool grey = images.All(im => IsGrey(im.Rgb));
        var train = images.Where((_, n) => n % each < perClass).ToList();
        var held = images.Where((_, n) => n % each >= perClass).ToList();
        return (PriorSamples.From(train.Select(i => i.Tokens).ToList(), train.Select(i => i.Request.ClassId).ToList()),
            PriorSamples.From(held.Select(i => i.Tokens).ToList(), held.Select(i => i.Request.ClassId).ToList()), grey);
    }

    private static bool IsGrey(byte[] rgb)
    {
        for (int i = 0; i < rgb.Length; i += 3)
        {
            if (rgb[i] != rgb[i + 1] || rgb[i] != rgb[i + 2]) return false;
        }
        return true;
    }

    /// <summary>BT.601 luma copied to the three channels (for a model trained on grey images).</summary>
    public static byte[] ToGrey(byte[] rgb)
    {
        var grey = new byte[rgb.Length];
        for (int i = 0; i < rgb.Length; i += 3)
        {
            byte y = (byte)Math.Clamp(Math.Round(0.299 * rgb[i] + 0.587 * rgb[i + 1] + 0.114 * rgb[i + 2]), 0, 255);
            grey[i] = grey[i + 1] = grey[i + 2] = y;
        }
        return grey;
    }
}
