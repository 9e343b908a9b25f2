using Var.Cli.Commands;
using Var.Decoding.Decoders;
using Var.Model;
using Var.Model.Checkpoints;

namespace Var.Cli.Batch;

/// <summary>
/// Checks jobs against the local engine: loads each model a job names once (the command line's model for jobs that
/// name none), builds the job's decoder and sampling settings (so bad settings fail here, before any work), and keeps
/// them for the run.
/// </summary>
internal sealed class LocalJobResolver(ModelSource defaults) : IJobResolver, IDisposable
{
    private readonly Dictionary<string, ModelBundle> models = new(StringComparer.Ordinal);
    private readonly Dictionary<int, (ModelBundle Model, IDecoder Decoder, SamplingSettings Settings)> jobs = [];

    /// <inheritdoc />
    public (int ClassId, string ClassName) Resolve(BatchJob job)
    {
        var model = Model(job.Model);
        var decoder = DecoderArguments.Create(job.Decoder, model);
        var settings = SamplingOptions.Settings(job.Cfg, job.TopK, job.TopP, job.MoreSmooth, model);
        jobs[job.Line] = (model, decoder, settings);
        if (job.Class is null) return (model.Transformer.Config.NumClasses, "unconditional");
        int id = model.Classes.Resolve(job.Class);
        return (id, model.Classes.NameOf(id));
    }

    /// <summary>The model, decoder and settings of a resolved job.</summary>
    public (ModelBundle Model, IDecoder Decoder, SamplingSettings Settings) Of(BatchJob job) => jobs[job.Line];

    private ModelBundle Model(string? name)
    {
        string key = name ?? "";
        if (models.TryGetValue(key, out var model)) return model;
        var source = name is null ? defaults : defaults with { Model = name, VaeFile = null, VarFile = null, RefinerFile = null };
        try
        {
            model = ModelLoader.Load(source);
        }
        catch (CheckpointException e)
        {
            throw new ArgumentException($"model: {e.Message}", e);
        }
        models[key] = model;
        return model;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var m in models.Values) m.Dispose();
    }
}
