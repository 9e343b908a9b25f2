using Var.Model;
using Var.Model.Classes;
using Var.Service.V1;

namespace Var.Cli.Batch;

/// <summary>
/// Checks jobs against a server's models (from one ListModels call): the model exists, the class resolves as the
/// server would resolve it, the decoder is one the model serves with its draft scales in range, sampling settings are
/// in range. What only the server can judge it still refuses per call (INVALID_ARGUMENT fails that job).
/// </summary>
internal sealed class RemoteJobResolver(ListModelsResponse models) : IJobResolver
{
    /// <summary>The server's limit on images per request.</summary>
    public int MaxImagesPerRequest => models.MaxImagesPerRequest > 0 ? models.MaxImagesPerRequest : int.MaxValue;

    /// <inheritdoc />
    public (int ClassId, string ClassName) Resolve(BatchJob job)
    {
        var name = job.Model ?? models.DefaultModel;
        var info = models.Models.FirstOrDefault(m => m.Name == name)
            ?? throw new ArgumentException($"model: the server has no model '{name}' (has: {string.Join(", ", models.Models.Select(m => m.Name))})");
        var kind = (job.Decoder.Kind ?? "var").Trim().ToLowerInvariant();
        if (kind is "tts" or "tts-var") kind = "tts_var";
        // A job that names no decoder gets the server's default for the model, which the model serves.
        if (job.Decoder.Kind is not null && !info.Decoders.Contains(kind))
            throw new ArgumentException($"decoder '{job.Decoder.Kind}' is not served for model '{name}' (served: {string.Join(", ", info.Decoders)})");
        if (kind == "var" && (job.Decoder.DraftScales is not null || job.Decoder.Refiner is not null || job.Decoder.RefinerCfg is not null))
            throw new ArgumentException("draft_scales, refiner and refiner_cfg need decoder code");
        if (job.Decoder.DraftScales is { } n && (n < 1 || n > info.PatchNums.Count))
            throw new ArgumentException($"draft_scales {n} is out of range 1..{info.PatchNums.Count} (the model has {info.PatchNums.Count} scales)");
        if (kind != "tts_var" && (job.Decoder.Budget is not null || job.Decoder.Reward is not null))
            throw new ArgumentException("budget and reward need decoder tts");
        if (job.Decoder.Lambda is not null || job.Decoder.ClusterScales is not null || job.Decoder.ResampleScales is not null || job.Decoder.Potential is not null || job.Decoder.Features is not null)
            throw new NotSupportedException("lambda, cluster_scales, resample_scales, potential and features cannot be set in server mode (the service uses the model's defaults)");
        if (job.Decoder.Temperatures is not null) throw new NotSupportedException("temperatures cannot be set in server mode (the service uses CoDe's defaults)");
        new SamplingSettings { Cfg = job.Cfg ?? info.DefaultCfg, TopK = job.TopK ?? info.DefaultTopK, TopP = job.TopP ?? info.DefaultTopP }.Validate();
        var catalog = new ClassCatalog(info.Classes.OrderBy(c => c.Id).Select(c => string.Join(", ", c.Synonyms.DefaultIfEmpty(c.Name))).ToArray());
        if (job.Class is null) return (catalog.Count, "unconditional");
        int id = catalog.Resolve(job.Class);
        return (id, catalog.NameOf(id));
    }
}
