using Var.Decoding.Decoders;
using Var.Model;

namespace Var.Service.Models;

/// <summary>A model held by the scheduler, with the facts requests are validated against.</summary>
public sealed class LoadedModel
{
    /// <summary>Wraps a loaded model under the name requests use.</summary>
    public LoadedModel(string name, ModelBundle model)
    {
        Name = name;
        Model = model;
        ImageSize = model.ImageSize;
        PatchNums = model.Vqvae.Config.PatchNums.ToArray();
        ClassNames = model.Classes.Names;
        ClassSynonyms = Enumerable.Range(0, model.Classes.Count).Select(i => model.Classes.SynonymsOf(i)).ToArray();
        Defaults = model.Sampling with { MoreSmooth = false };
        DType = model.ComputeType.ToString().ToLowerInvariant();
        Transformers = model.Transformers.Keys.Order(StringComparer.Ordinal).ToArray();
        DefaultTransformer = model.DefaultTransformer;
        // TTS-VAR works with every model (the implicit reward needs no extra network).
        // HMAR needs an HMAR transformer; a model whose default transformer is one decodes with HMAR only.
        var decoders = new List<string>();
        if (model.Transformers.ContainsKey(model.DefaultTransformer))
        {
            decoders.Add("var");
            if (model.Transformers.ContainsKey(CollaborativeDecoding.DefaultRefiner)) decoders.Add("code");
            decoders.Add("tts_var");
        }
        if (model.Hmar.Count > 0) decoders.Add("hmar");
        Decoders = decoders;
        HmarTransformer = model.Hmar.ContainsKey(model.DefaultTransformer) ? model.DefaultTransformer : model.Hmar.Count > 0 ? Var.Model.Checkpoints.ModelLoader.HmarRole : null;
        DefaultDraftScales = model.DefaultDraftScales ?? Math.Max(1, PatchNums.Count - 2);
        DefaultDecoder = model.UnnamedDecoder;
        Device = model.Device.ToString().ToLowerInvariant();
    }

    /// <summary>The name requests use.</summary>
    public string Name { get; }

    /// <summary>The model; touch it only on the scheduler's torch thread.</summary>
    public ModelBundle Model { get; }

    /// <summary>Side of the square images.</summary>
    public int ImageSize { get; }

    /// <summary>Token-map sides, coarse to fine.</summary>
    public IReadOnlyList<int> PatchNums { get; }

    /// <summary>Display names by class id.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>All names by class id.</summary>
    public IReadOnlyList<IReadOnlyList<string>> ClassSynonyms { get; }

    /// <summary>Sampling settings used for fields a request leaves unset.</summary>
    public SamplingSettings Defaults { get; }

    /// <summary>Roles of the model's transformers ("var", "refiner" …).</summary>
    public IReadOnlyList<string> Transformers { get; }

    /// <summary>Role of the default transformer (the CoDe drafter).</summary>
    public string DefaultTransformer { get; }

    /// <summary>Decoders that work with this model ("var", "tts_var", "code" when it has a refiner, "hmar" when it has an HMAR transformer).</summary>
    public IReadOnlyList<string> Decoders { get; }

    /// <summary>The decoder of a request that names none: "hmar" for an HMAR-only model or a folder whose model.json says so, else "var".</summary>
    public string DefaultDecoder { get; }

    /// <summary>Role of the HMAR transformer the hmar decoder uses, or null when the model has none.</summary>
    public string? HmarTransformer { get; }

    /// <summary>CoDe draft scales used when a request leaves them 0 (model.json, else K−2).</summary>
    public int DefaultDraftScales { get; }

    /// <summary>Transformer dtype ("float32", "bfloat16").</summary>
    public string DType { get; }

    /// <summary>Device ("cpu", "cuda:0").</summary>
    public string Device { get; }

    /// <summary>Resolves a class id or name (thread-safe: the catalog is immutable); throws <see cref="ArgumentException"/> with suggestions.</summary>
    public int ResolveClass(string text) => Model.Classes.Resolve(text);
}
