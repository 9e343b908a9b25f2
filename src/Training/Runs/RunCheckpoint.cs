using Var.Model.Checkpoints;
using Var.Training.Optimization;

namespace Var.Training.Runs;

/// <summary>
/// The resumable state of a run in one safetensors file: model tensors under "model.", optimiser moments under "opt.",
/// and the step, samples seen, wall seconds and seed as metadata. Written atomically (temp file + rename).
/// </summary>
public sealed record RunCheckpoint(long Step, long SamplesSeen, double WallSeconds, int Seed)
{
    /// <summary>Writes model, optimiser and counters to <paramref name="path"/> (plus extra tensors and metadata).</summary>
    public void Save(string path, nn.Module model, NamedAdamW optimizer,
        IEnumerable<(string Key, Tensor Value)>? extra = null, IReadOnlyDictionary<string, string>? extraMetadata = null)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        // One scope for the save: tensors the item enumerables make while they are written (e.g. the EMA's update count)
        // are freed here, whichever trainer saves.
        using var scope = NewDisposeScope();
        var items = model.state_dict().Select(kv => ("model." + kv.Key, kv.Value))
            .Concat(optimizer.StateItems().Select(kv => ("opt." + kv.Key, kv.Value)))
            .Concat(extra ?? []);
        var meta = new Dictionary<string, string>
        {
            ["step"] = Step.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["samples_seen"] = SamplesSeen.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["wall_seconds"] = WallSeconds.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
            ["seed"] = Seed.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["optimizer_steps"] = optimizer.StepCount.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        if (extraMetadata is not null)
        {
            foreach (var (k, v) in extraMetadata) meta[k] = v;
        }
        StateDict.WriteSafetensors(path, items, meta);
    }

    /// <summary>
    /// Loads <paramref name="path"/> into <paramref name="model"/> (strict) and <paramref name="optimizer"/>; returns the
    /// counters and the file's metadata. <paramref name="extra"/> sees all of the file's tensors, valid only during the call (copy what you keep).
    /// </summary>
    public static (RunCheckpoint Checkpoint, IReadOnlyDictionary<string, string> Metadata) Load(string path, nn.Module model, NamedAdamW optimizer,
        Action<IReadOnlyDictionary<string, Tensor>>? extra = null)
    {
        using var sd = StateDict.Read(path);
        sd.LoadInto(model, "model.");
        var meta = sd.Metadata;
        long step = long.Parse(meta["step"], System.Globalization.CultureInfo.InvariantCulture);
        optimizer.LoadState(sd.Tensors, "opt.", long.Parse(meta["optimizer_steps"], System.Globalization.CultureInfo.InvariantCulture));
        extra?.Invoke(sd.Tensors);
        var ckpt = new RunCheckpoint(step,
            long.Parse(meta["samples_seen"], System.Globalization.CultureInfo.InvariantCulture),
            double.Parse(meta["wall_seconds"], System.Globalization.CultureInfo.InvariantCulture),
            int.Parse(meta["seed"], System.Globalization.CultureInfo.InvariantCulture));
        return (ckpt, new Dictionary<string, string>(meta));
    }
}
