using Var.Model.Classes;
using Var.Model.Classifiers;
using Var.Model.Transformer;
using Var.Model.Vqvae;

namespace Var.Model.Checkpoints;

/// <summary>
/// The one checkpoint loader: official .pth pairs and the project's own model folders (model.json + safetensors), as a
/// <see cref="ModelBundle"/> or component by component; every file loads strictly (first missing/unexpected key or shape
/// named).
/// </summary>
public static class ModelLoader
{
    /// <summary>Name of the model used when none is given.</summary>
    public const string DefaultModel = "fmnist";

    private static readonly HashSet<string> ToleratedVaeKeys = ["quantize.ema_vocab_hit_SV"];

    /// <summary>The weights/ folder: $VAR_WEIGHTS, else the first weights/ found upward from the working directory or the program.</summary>
    public static string? WeightsDirectory()
    {
        var env = Environment.GetEnvironmentVariable("VAR_WEIGHTS");
        if (!string.IsNullOrEmpty(env)) return Directory.Exists(env) ? Path.GetFullPath(env) : null;
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "weights");
                if (Directory.Exists(candidate) && (File.Exists(Path.Combine(dir.FullName, "Var.sln")) || Directory.EnumerateDirectories(candidate).Any()))
                    return candidate;
            }
        }
        return null;
    }

    /// <summary>
    /// Resolves a model name or folder path to the folder holding model.json. Names are looked up in
    /// <paramref name="weightsDirectory"/> when given, else in <see cref="WeightsDirectory"/>.
    /// </summary>
    public static string ResolveModelFolder(string nameOrPath, string? weightsDirectory = null)
    {
        if (Directory.Exists(nameOrPath) && File.Exists(Path.Combine(nameOrPath, ModelManifest.FileName))) return Path.GetFullPath(nameOrPath);
        if (File.Exists(nameOrPath) && Path.GetFileName(nameOrPath) == ModelManifest.FileName) return Path.GetDirectoryName(Path.GetFullPath(nameOrPath))!;
        var weights = string.IsNullOrWhiteSpace(weightsDirectory) ? WeightsDirectory() : weightsDirectory;
        if (weights is not null)
        {
            var folder = Path.Combine(weights, nameOrPath);
            if (File.Exists(Path.Combine(folder, ModelManifest.FileName))) return folder;
        }
        var known = ListModels(weights);
        throw new CheckpointException(nameOrPath, "no such model folder (a folder with model.json, or a name under " + (weights ?? "weights/") + ")" +
            (known.Count > 0 ? $"; known models: {string.Join(", ", known)}" : weights is null ? "; no weights/ folder found (set VAR_WEIGHTS)" : ""));
    }

    /// <summary>Names of the model folders under weights/.</summary>
    public static IReadOnlyList<string> ListModels(string? weightsDirectory = null)
    {
        var weights = string.IsNullOrWhiteSpace(weightsDirectory) ? WeightsDirectory() : weightsDirectory;
        if (weights is null || !Directory.Exists(weights)) return [];
        return Directory.EnumerateDirectories(weights)
            .Where(d => File.Exists(Path.Combine(d, ModelManifest.FileName)))
            .Select(Path.GetFileName).OfType<string>().OrderBy(n => n, StringComparer.Ordinal).ToList();
    }

    /// <summary>Parses "cpu", "cuda", "cuda:1".</summary>
    public static Device ParseDevice(string text)
    {
        var d = text.Trim().ToLowerInvariant();
        if (d == "cpu") return CPU;
        if (d.StartsWith("cuda"))
        {
            if (!cuda.is_available()) throw new ArgumentException($"device '{text}' requested but CUDA is not available: this needs the CUDA build (-p:TorchBackend=cuda, or the image built with --build-arg TORCH_BACKEND=cuda) and a visible NVIDIA GPU");
            return device(d);
        }
        throw new ArgumentException($"unknown device '{text}' (use cpu or cuda)");
    }

    /// <summary>Parses "float32"/"fp32" or "bfloat16"/"bf16".</summary>
    public static ScalarType ParseDType(string text) => text.Trim().ToLowerInvariant() switch
    {
        "float32" or "fp32" or "float" => ScalarType.Float32,
        "bfloat16" or "bf16" => ScalarType.BFloat16,
        _ => throw new ArgumentException($"unknown dtype '{text}' (use float32 or bfloat16)"),
    };

    /// <summary>
    /// Loads the bundle described by <paramref name="source"/>: an official pair (its transformer under the role "var"),
    /// or a model folder with every transformer component and every classifier component except judges (roles starting
    /// with "judge": evaluation only, out of every sampler's reach).
    /// </summary>
    public static ModelBundle Load(ModelSource source)
    {
        var device = ParseDevice(source.Device);
        var dtype = ParseDType(source.DType);
        if (source.VarFile is not null || source.VaeFile is not null)
        {
            if (source.VarFile is null || source.VaeFile is null)
                throw new ArgumentException("official checkpoints need both --vae and --var");
            if (source.Role != ModelBundle.DefaultRole) throw new ArgumentException("--transformer selects a transformer of a model folder; with --vae/--var use --refiner");
            VarTransformer? var = null;
            HmarTransformer? hmar = null;
            using (var sd = StateDict.Read(source.VarFile))
            {
                if (ConfigDetector.IsHmar(sd)) hmar = LoadHmar(sd, source.PatchNums);
                else var = LoadVar(sd, source.NumHeads, source.PatchNums);
            }
            if (hmar is not null)
            {
                if (source.RefinerFile is not null) throw new ArgumentException("--refiner goes with a VAR checkpoint; --var is an HMAR checkpoint");
                var hmarVae = LoadVqvaeFile(source.VaeFile, hmar.Backbone.PatchNums);
                return new ModelBundle(Path.GetFileNameWithoutExtension(source.VarFile), hmarVae, new Dictionary<string, VarTransformer>(), HmarRole,
                    new Dictionary<string, ImageClassifier>(), OfficialCatalog(hmar.Backbone.NumClasses), device, dtype,
                    hmar: new Dictionary<string, HmarTransformer>(StringComparer.Ordinal) { [HmarRole] = hmar });
            }
            var vae = LoadVqvaeFile(source.VaeFile, var!.Config.PatchNums);
            var catalog = OfficialCatalog(var.Config.NumClasses);
            var pair = new Dictionary<string, VarTransformer>(StringComparer.Ordinal) { [ModelBundle.DefaultRole] = var };
            if (source.RefinerFile is not null) pair["refiner"] = LoadOfficialRefiner(source.RefinerFile, var.Config, source.PatchNums);
            return new ModelBundle(Path.GetFileNameWithoutExtension(source.VarFile), vae, pair, ModelBundle.DefaultRole,
                new Dictionary<string, ImageClassifier>(), catalog, device, dtype);
        }
        if (source.RefinerFile is not null) throw new ArgumentException("--refiner FILE goes with --vae/--var; a model folder names its refiner in model.json");
        var folder = ResolveModelFolder(source.Model ?? DefaultModel);
        var manifestPath = Path.Combine(folder, ModelManifest.FileName);
        var manifest = ModelManifest.Read(manifestPath);
        manifest.Component(source.Role, manifestPath);
        var vqvae = LoadVqvae(folder, manifest);
        var transformers = manifest.Components.Where(c => c.Value.Kind == "var")
            .ToDictionary(c => c.Key, c => LoadTransformer(folder, manifest, c.Key), StringComparer.Ordinal);
        var hmars = manifest.Components.Where(c => c.Value.Kind == HmarKind)
            .ToDictionary(c => c.Key, c => LoadHmarComponent(folder, manifest, c.Key), StringComparer.Ordinal);
        var classifiers = manifest.Components.Where(c => c.Value.Kind == "classifier" && !IsJudge(c.Key))
            .ToDictionary(c => c.Key, c => LoadClassifier(folder, c.Key), StringComparer.Ordinal);
        var numClasses = transformers.TryGetValue(source.Role, out var main)
            ? main.Config.NumClasses
            : hmars.TryGetValue(source.Role, out var mainHmar)
                ? mainHmar.Backbone.NumClasses
                : throw new CheckpointException(manifestPath, $"component '{source.Role}' is not a transformer");
        var classes = manifest.Classes.Count > 0 ? new ClassCatalog(manifest.Classes) : ClassCatalog.Unnamed(numClasses);
        var routes = new Dictionary<int, string>();
        foreach (var (className, role) in manifest.ClassTransformers ?? [])
        {
            int id;
            try
            {
                id = classes.Resolve(className);
            }
            catch (ArgumentException e)
            {
                throw new CheckpointException(manifestPath, $"class_transformers: {e.Message}");
            }
            if (!transformers.TryGetValue(role, out var routed))
                throw new CheckpointException(manifestPath, $"class_transformers: class '{className}' names '{role}', which is not a VAR transformer of the model");
            if (id >= routed.Config.NumClasses)
                throw new CheckpointException(manifestPath, $"class_transformers: transformer '{role}' knows {routed.Config.NumClasses} classes, not class {id} ('{className}')");
            routes[id] = role;
        }
        var hmarPasses = manifest.Hmar?.StepsPerScale;
        if (hmarPasses is not null)
        {
            var pn = vqvae.Config.PatchNums;
            if (hmarPasses.Count != pn.Length || hmarPasses.Where((s, si) => s < 1 || s > pn[si] * pn[si]).Any())
                throw new CheckpointException(manifestPath, $"hmar.steps_per_scale [{string.Join(",", hmarPasses)}]: needs one pass count per scale ({pn.Length}), each from 1 to the scale's token count");
        }
        string? defaultDecoder = manifest.Decoder;
        if (defaultDecoder is not null and not "var" and not "hmar")
            throw new CheckpointException(manifestPath, $"decoder '{defaultDecoder}': a folder's default decoder is var or hmar");
        if (defaultDecoder == "hmar" && !hmars.ContainsKey(HmarRole))
            throw new CheckpointException(manifestPath, $"decoder 'hmar' needs an '{HmarRole}' component of kind {HmarKind}");
        return new ModelBundle(manifest.Name.Length > 0 ? manifest.Name : Path.GetFileName(folder), vqvae, transformers, source.Role,
            classifiers, classes, device, dtype, manifest.Sampling, hmars)
        {
            DefaultDraftScales = manifest.Code?.DraftScales,
            SearchDefaults = manifest.Tts,
            DefaultHmarPasses = hmarPasses,
            ClassTransformers = routes,
            // A folder loaded for another transformer (--transformer refiner) decodes it with var unless told.
            DefaultDecoder = source.Role == ModelBundle.DefaultRole ? defaultDecoder : null,
        };
    }

    /// <summary>Whether a classifier role is a judge (evaluation only; never part of a bundle).</summary>
    public static bool IsJudge(string role) => role.StartsWith("judge", StringComparison.Ordinal);

    /// <summary>The judge roles of a model folder's classifiers: "judge" first, then the others by ordinal name.</summary>
    public static IReadOnlyList<string> JudgeRoles(string folder)
    {
        string manifestPath = Path.Combine(folder, ModelManifest.FileName);
        var roles = ModelManifest.Read(manifestPath).Components.Where(c => c.Value.Kind == "classifier" && IsJudge(c.Key)).Select(c => c.Key)
            .OrderBy(r => r == "judge" ? 0 : 1).ThenBy(r => r, StringComparer.Ordinal).ToList();
        return roles.Count > 0 ? roles : throw new CheckpointException(manifestPath, "no judge classifier (a component whose role starts with 'judge')");
    }

    /// <summary>Loads an official VQVAE + VAR pair with configurations detected from the files.</summary>
    public static (MultiScaleVqvae Vae, VarTransformer Var) LoadOfficialPair(string vaeFile, string varFile, int? numHeads = null, int[]? patchNums = null)
    {
        VarTransformer var;
        using (var sd = StateDict.Read(varFile)) var = LoadVar(sd, numHeads, patchNums);
        var vae = LoadVqvaeFile(vaeFile, var.Config.PatchNums);
        return (vae, var);
    }

    /// <summary>Role of an official HMAR checkpoint's transformer in its bundle, and the manifest kind of HMAR components.</summary>
    public const string HmarRole = "hmar";

    /// <summary>The model.json component kind of an HMAR transformer.</summary>
    public const string HmarKind = "hmar";

    /// <summary>Loads an official HMAR checkpoint (<c>hmar-d*.pth</c> layout, hmar.md §1) with its detected configuration.</summary>
    public static HmarTransformer LoadOfficialHmar(string hmarFile, int[]? patchNums = null)
    {
        using var sd = StateDict.Read(hmarFile);
        return LoadHmar(sd, patchNums);
    }

    /// <summary>Loads an HMAR transformer component of a model folder (kind "hmar", config an <see cref="HmarConfig"/>).</summary>
    public static HmarTransformer LoadHmarComponent(string folder, ModelManifest manifest, string role)
    {
        var entry = manifest.Component(role, Path.Combine(folder, ModelManifest.FileName));
        var config = entry.ConfigAs<HmarConfig>();
        var file = Path.Combine(folder, entry.File);
        var hmar = Build(() => new HmarTransformer(config), file);
        using var sd = StateDict.Read(file);
        sd.LoadInto(hmar);
        hmar.eval();
        return hmar;
    }

    private static HmarTransformer LoadHmar(StateDict sd, int[]? patchNums)
    {
        var config = ConfigDetector.DetectHmar(sd);
        if (patchNums is not null) config = config with { Backbone = config.Backbone with { PatchNums = patchNums } };
        var hmar = Build(() => new HmarTransformer(config), sd.File);
        sd.LoadInto(hmar);
        hmar.eval();
        return hmar;
    }

    private static VarTransformer LoadVar(StateDict sd, int? numHeads, int[]? patchNums)
    {
        var config = ConfigDetector.DetectVar(sd, numHeads);
        if (patchNums is not null) config = config with { PatchNums = patchNums };
        var var = Build(() => new VarTransformer(config), sd.File);
        sd.LoadInto(var);
        return var;
    }

    /// <summary>
    /// Loads an official VAR file as the refiner of <paramref name="drafter"/> (CoDe: same tokenizer, classes and scale
    /// schedule; its own width and depth). Heads are detected (l2-norm attention) or taken as width/64.
    /// </summary>
    public static VarTransformer LoadOfficialRefiner(string refinerFile, VarConfig drafter, int[]? patchNums = null)
    {
        using var sd = StateDict.Read(refinerFile);
        var config = ConfigDetector.DetectVar(sd, null);
        if (patchNums is not null) config = config with { PatchNums = patchNums };
        if (config.NumClasses != drafter.NumClasses)
            throw new CheckpointException(refinerFile, $"the refiner has {config.NumClasses} classes, the drafter {drafter.NumClasses}");
        if (config.VocabSize != drafter.VocabSize || config.VaeChannels != drafter.VaeChannels || !config.PatchNums.SequenceEqual(drafter.PatchNums))
            throw new CheckpointException(refinerFile, $"the refiner's tokenizer (V={config.VocabSize}, Cvae={config.VaeChannels}, scales [{string.Join(",", config.PatchNums)}]) differs from the drafter's (V={drafter.VocabSize}, Cvae={drafter.VaeChannels}, scales [{string.Join(",", drafter.PatchNums)}])");
        var refiner = Build(() => new VarTransformer(config), refinerFile);
        sd.LoadInto(refiner);
        refiner.eval();
        return refiner;
    }

    /// <summary>Loads a VQVAE file alone; the schedule comes from <paramref name="patchNums"/> or is detected.</summary>
    public static MultiScaleVqvae LoadVqvaeFile(string vaeFile, int[]? patchNums = null)
    {
        using var sd = StateDict.Read(vaeFile);
        var config = ConfigDetector.DetectVqvae(sd, patchNums);
        var vae = Build(() => new MultiScaleVqvae(config), vaeFile);
        sd.LoadInto(vae, tolerated: ToleratedVaeKeys);
        vae.eval();
        return vae;
    }

    /// <summary>Loads the "vqvae" component of a model folder.</summary>
    public static MultiScaleVqvae LoadVqvae(string folder, ModelManifest manifest)
    {
        var entry = manifest.Component("vqvae", Path.Combine(folder, ModelManifest.FileName));
        return LoadVqvae(entry.ConfigAs<VqvaeConfig>(), Path.Combine(folder, entry.File));
    }

    /// <summary>Loads a VQVAE of a known configuration from a weights file (a model folder's or a training run's).</summary>
    public static MultiScaleVqvae LoadVqvae(VqvaeConfig config, string file)
    {
        var vae = Build(() => new MultiScaleVqvae(config), file);
        using var sd = StateDict.Read(file);
        sd.LoadInto(vae, tolerated: ToleratedVaeKeys);
        vae.eval();
        return vae;
    }

    /// <summary>Loads a classifier component ("reward", "judge", …) of a model folder.</summary>
    public static ImageClassifier LoadClassifier(string folder, string role)
    {
        string manifestPath = Path.Combine(folder, ModelManifest.FileName);
        var entry = ModelManifest.Read(manifestPath).Component(role, manifestPath);
        var file = Path.Combine(folder, entry.File);
        var model = Build(() => new ImageClassifier(entry.ConfigAs<ClassifierConfig>()), file);
        using (var sd = StateDict.Read(file)) sd.LoadInto(model);
        model.eval();
        return model;
    }

    /// <summary>Loads a transformer component (role "var", "refiner", …) of a model folder.</summary>
    public static VarTransformer LoadTransformer(string folder, ModelManifest manifest, string role)
    {
        var path = Path.Combine(folder, ModelManifest.FileName);
        var entry = manifest.Component(role, path);
        var config = entry.ConfigAs<VarConfig>();
        var file = Path.Combine(folder, entry.File);
        var var = Build(() => new VarTransformer(config), file);
        using var sd = StateDict.Read(file);
        sd.LoadInto(var);
        var.eval();
        return var;
    }

    /// <summary>Class names for an official checkpoint: weights/imagenet_classes.txt for 1000 classes when present.</summary>
    public static ClassCatalog OfficialCatalog(int numClasses)
    {
        var weights = WeightsDirectory();
        var names = weights is null ? null : Path.Combine(weights, "imagenet_classes.txt");
        if (numClasses == 1000 && names is not null && File.Exists(names))
        {
            var lines = File.ReadAllLines(names).Where(l => l.Length > 0).ToArray();
            if (lines.Length == 1000) return new ClassCatalog(lines);
        }
        return ClassCatalog.Unnamed(numClasses);
    }

    private static T Build<T>(Func<T> make, string file)
    {
        try
        {
            using var noGrad = no_grad();
            return make();
        }
        catch (ArgumentException e)
        {
            throw new CheckpointException(file, $"detected configuration cannot be built: {e.Message}", e);
        }
    }
}
