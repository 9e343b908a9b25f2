using Var.Model;
using System.Text.Json.Nodes;
using Var.Model.Checkpoints;
using Var.Training.Data;
using Var.Training.Runs;

namespace Var.Training.Shipping;

/// <summary>
/// Assembles a model folder (e.g. weights/fmnist): one safetensors file per component plus model.json with each
/// component's configuration, parameter count, provenance and quality, taken from the runs' summary.json.
/// </summary>
public static class WeightsPublisher
{
    /// <summary>Description written to model.json.</summary>
    public const string Description =
        "Fashion-MNIST 32x32 class-conditional VAR trained from scratch with the project code (tokenizer, VAR, CoDe refiner, HMAR, reward classifier and two judges of different architectures)";

    /// <summary>
    /// Writes every component whose run has weights into <paramref name="folder"/> and (re)writes model.json; components
    /// already in an existing model.json but absent now are kept. Returns the roles written.
    /// </summary>
    /// <remarks>
    /// The recommended sampling settings default to cfg 3, top-k 100, top-p 0.95 (calibration.md §3: best judged quality
    /// for these small models) unless <paramref name="sampling"/> or an existing model.json says otherwise.
    /// </remarks>
    public static IReadOnlyList<string> Publish(string folder, string name, IEnumerable<PublishedComponent> components, Action<string>? log = null,
        SamplingSettings? sampling = null)
    {
        Directory.CreateDirectory(folder);
        string manifestPath = Path.Combine(folder, ModelManifest.FileName);
        var existing = File.Exists(manifestPath) ? ModelManifest.Read(manifestPath) : null;
        var entries = existing is null ? new Dictionary<string, ComponentEntry>() : new Dictionary<string, ComponentEntry>(existing.Components);
        var written = new List<string>();
        foreach (var c in components)
        {
            string weights = Path.Combine(c.RunDirectory, "model.safetensors");
            string summaryPath = Path.Combine(c.RunDirectory, "summary.json");
            if (!File.Exists(weights) || !File.Exists(summaryPath))
            {
                log?.Invoke($"skip {c.Role}: no weights in {c.RunDirectory}");
                continue;
            }
            var summary = RunSummary.Read(summaryPath);
            string file = $"{c.Role}.safetensors";
            using (var sd = StateDict.Read(weights))
            {
                var items = sd.Tensors.OrderBy(kv => kv.Key, StringComparer.Ordinal)
                    .Select(kv => (kv.Key, c.StoreBf16 && kv.Value.dtype == ScalarType.Float32 ? kv.Value.to(ScalarType.BFloat16) : kv.Value))
                    .ToList();
                StateDict.WriteSafetensors(Path.Combine(folder, file), items, new Dictionary<string, string> { ["role"] = c.Role });
                foreach (var (key, t) in items)
                {
                    if (!ReferenceEquals(t, sd.Tensors[key])) t.Dispose();
                }
            }
            var provenance = (JsonObject)summary.Provenance.DeepClone();
            if (c.StoreBf16) provenance["stored_dtype"] = "bfloat16";
            entries[c.Role] = new ComponentEntry
            {
                Kind = summary.Kind,
                File = file,
                Config = (JsonObject)summary.Config.DeepClone(),
                Provenance = provenance,
                Quality = (JsonObject)summary.Quality.DeepClone(),
                Parameters = summary.Parameters,
            };
            written.Add(c.Role);
            log?.Invoke($"published {c.Role} from {c.RunDirectory} ({new FileInfo(Path.Combine(folder, file)).Length / 1e6:F1} MB)");
        }
        var manifest = (existing ?? new ModelManifest()) with
        {
            Name = name,
            Description = Description,
            ImageSize = FashionMnist.ImageSide,
            Classes = FashionMnistClasses.Names.ToList(),
            Components = entries,
            Sampling = sampling ?? existing?.Sampling ?? new SamplingSettings { Cfg = 3, TopK = 100, TopP = 0.95 },
            Code = existing?.Code,
        };
        manifest.Write(manifestPath);
        return written;
    }

    /// <summary>
    /// Writes a model folder derived from <paramref name="baseFolder"/>: the base's components of <paramref name="keptRoles"/>
    /// copied with their manifest entries, the runs of <paramref name="tuned"/> as their roles (each summary.json gives the
    /// entry), and model.json with <paramref name="classes"/>, the base's sampling settings and <paramref name="description"/>.
    /// The folder is written under a temporary name and renamed, so a failure leaves no partial model.
    /// </summary>
    public static void PublishDerived(string baseFolder, string folder, string name, string description, IReadOnlyList<string> classes,
        IReadOnlyList<string> keptRoles, IReadOnlyList<PublishedComponent> tuned, Action<string>? log = null, Dictionary<string, string>? classTransformers = null)
    {
        var baseManifest = ModelManifest.Read(Path.Combine(baseFolder, ModelManifest.FileName));
        string full = Path.GetFullPath(folder);
        string staging = full.TrimEnd(Path.DirectorySeparatorChar) + ".tmp-" + Environment.ProcessId;
        if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        Directory.CreateDirectory(staging);
        var entries = new Dictionary<string, ComponentEntry>();
        foreach (var role in keptRoles)
        {
            var entry = baseManifest.Component(role, Path.Combine(baseFolder, ModelManifest.FileName));
            File.Copy(Path.Combine(baseFolder, entry.File), Path.Combine(staging, entry.File));
            entries[role] = entry with { Provenance = (JsonObject?)entry.Provenance?.DeepClone() ?? [] };
            entries[role].Provenance!["copied_from"] = Path.GetFullPath(baseFolder);
        }
        new ModelManifest { Name = name, Components = entries }.Write(Path.Combine(staging, ModelManifest.FileName));
        Publish(staging, name, tuned);
        var written = ModelManifest.Read(Path.Combine(staging, ModelManifest.FileName)) with
        {
            Description = description,
            ImageSize = baseManifest.ImageSize,
            Classes = classes.ToList(),
            Sampling = baseManifest.Sampling,
            Code = null,
            Tts = baseManifest.Tts,
            ClassTransformers = classTransformers,
        };
        written.Write(Path.Combine(staging, ModelManifest.FileName));
        if (Directory.Exists(full)) Directory.Delete(full, recursive: true);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        Directory.Move(staging, full);
        log?.Invoke($"model folder {full}: {string.Join(", ", entries.Keys.Concat(tuned.Select(t => t.Role)))} ({Directory.EnumerateFiles(full).Sum(f => new FileInfo(f).Length) / 1e6:F1} MB)");
    }

    /// <summary>Adds or replaces quality fields of a component in an existing model.json.</summary>
    public static void AddQuality(string folder, string role, JsonObject quality)
    {
        string manifestPath = Path.Combine(folder, ModelManifest.FileName);
        var manifest = ModelManifest.Read(manifestPath);
        var entry = manifest.Component(role, manifestPath);
        var merged = (JsonObject?)entry.Quality?.DeepClone() ?? [];
        foreach (var (k, v) in quality) merged[k] = v?.DeepClone();
        manifest.Components[role] = entry with { Quality = merged };
        manifest.Write(manifestPath);
    }
}
