using Var.Model.Classes;
using Var.Model.Classifiers;
using Var.Model.Transformer;
using Var.Model.Vqvae;

namespace Var.Model;

/// <summary>
/// A loaded model: one tokenizer shared by all of its transformers (named: "var" the default generator, "refiner" …),
/// its named classifiers (e.g. "reward"; judges are never loaded into a bundle), class names and recommended sampling
/// settings, on one device. The transformers may run in bfloat16 (<see cref="ComputeType"/>); the tokenizer, the
/// classifiers and f̂ stay float32.
/// </summary>
public sealed class ModelBundle : IDisposable
{
    /// <summary>Name of the transformer used when none is named.</summary>
    public const string DefaultRole = "var";

    private readonly Dictionary<string, VarTransformer> transformers;
    private readonly Dictionary<string, ImageClassifier> classifiers;

    /// <summary>A bundle of one transformer under the role <see cref="DefaultRole"/>.</summary>
    public ModelBundle(string name, MultiScaleVqvae vqvae, VarTransformer transformer, ClassCatalog classes, Device device, ScalarType computeType, SamplingSettings? sampling = null)
        : this(name, vqvae, new Dictionary<string, VarTransformer> { [DefaultRole] = transformer }, DefaultRole, new Dictionary<string, ImageClassifier>(), classes, device, computeType, sampling)
    {
    }

    /// <summary>
    /// Wraps loaded modules; they are switched to eval mode and moved to <paramref name="device"/>. Every transformer
    /// must match the tokenizer's scale schedule, vocabulary and latent width. <paramref name="defaultTransformer"/>
    /// names the one <see cref="Transformer"/> returns.
    /// </summary>
    public ModelBundle(string name, MultiScaleVqvae vqvae, IReadOnlyDictionary<string, VarTransformer> transformers, string defaultTransformer,
        IReadOnlyDictionary<string, ImageClassifier> classifiers, ClassCatalog classes, Device device, ScalarType computeType, SamplingSettings? sampling = null)
    {
        if (!transformers.ContainsKey(defaultTransformer))
            throw new ArgumentException($"no transformer '{defaultTransformer}' (has: {string.Join(", ", transformers.Keys)})", nameof(defaultTransformer));
        foreach (var (role, t) in transformers)
        {
            if (!vqvae.Config.PatchNums.SequenceEqual(t.Config.PatchNums))
                throw new ArgumentException($"tokenizer schedule [{string.Join(",", vqvae.Config.PatchNums)}] differs from transformer '{role}''s [{string.Join(",", t.Config.PatchNums)}]");
            if (vqvae.Config.VocabSize != t.Config.VocabSize || vqvae.Config.ZChannels != t.Config.VaeChannels)
                throw new ArgumentException($"tokenizer (V={vqvae.Config.VocabSize}, Cvae={vqvae.Config.ZChannels}) does not match transformer '{role}' (V={t.Config.VocabSize}, Cvae={t.Config.VaeChannels})");
        }
        Name = name;
        Vqvae = vqvae;
        this.transformers = new Dictionary<string, VarTransformer>(transformers, StringComparer.Ordinal);
        this.classifiers = new Dictionary<string, ImageClassifier>(classifiers, StringComparer.Ordinal);
        DefaultTransformer = defaultTransformer;
        Classes = classes;
        Device = device;
        ComputeType = computeType;
        Sampling = sampling ?? new SamplingSettings();
        vqvae.eval();
        vqvae.to(device);
        foreach (var t in this.transformers.Values)
        {
            t.eval();
            t.to(device);
            if (computeType != ScalarType.Float32) t.to(computeType);
        }
        foreach (var c in this.classifiers.Values)
        {
            c.eval();
            c.to(device);
        }
    }

    /// <summary>Recommended sampling settings.</summary>
    public SamplingSettings Sampling { get; }

    /// <summary>Recommended CoDe hand-over scale N (model.json <c>code.draft_scales</c>), or null.</summary>
    public int? DefaultDraftScales { get; init; }

    /// <summary>Measured TTS-VAR defaults (model.json <c>tts</c>), or null.</summary>
    public SearchDefaults? SearchDefaults { get; init; }

    /// <summary>Display name.</summary>
    public string Name { get; }

    /// <summary>The tokenizer, shared by every transformer.</summary>
    public MultiScaleVqvae Vqvae { get; }

    /// <summary>Role of the default transformer.</summary>
    public string DefaultTransformer { get; }

    /// <summary>The default next-scale transformer.</summary>
    public VarTransformer Transformer => transformers[DefaultTransformer];

    /// <summary>Transformers by role.</summary>
    public IReadOnlyDictionary<string, VarTransformer> Transformers => transformers;

    /// <summary>Classifiers by role (rewards and feature extractors for samplers).</summary>
    public IReadOnlyDictionary<string, ImageClassifier> Classifiers => classifiers;

    /// <summary>Class names and lookup.</summary>
    public ClassCatalog Classes { get; }

    /// <summary>Where the tensors live.</summary>
    public Device Device { get; }

    /// <summary>Transformer weights' and activations' dtype (float32 or bfloat16).</summary>
    public ScalarType ComputeType { get; }

    /// <summary>Side of the square images produced.</summary>
    public int ImageSize => Vqvae.Config.ImageSize;

    /// <summary>The transformer of a role, or an <see cref="ArgumentException"/> listing the roles there are.</summary>
    public VarTransformer TransformerFor(string role) => transformers.TryGetValue(role, out var t)
        ? t
        : throw new ArgumentException($"model '{Name}' has no transformer '{role}' (has: {string.Join(", ", transformers.Keys)})");

    /// <summary>The classifier of a role, or an <see cref="ArgumentException"/> listing the roles there are.</summary>
    public ImageClassifier ClassifierFor(string role) => classifiers.TryGetValue(role, out var c)
        ? c
        : throw new ArgumentException($"model '{Name}' has no classifier '{role}' (has: {(classifiers.Count == 0 ? "none" : string.Join(", ", classifiers.Keys))})");

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var t in transformers.Values) t.Dispose();
        foreach (var c in classifiers.Values) c.Dispose();
        Vqvae.Dispose();
    }
}
