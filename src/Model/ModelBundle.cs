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
    private readonly Dictionary<string, HmarTransformer> hmar;

    /// <summary>A bundle of one transformer under the role <see cref="DefaultRole"/>.</summary>
    public ModelBundle(string name, MultiScaleVqvae vqvae, VarTransformer transformer, ClassCatalog classes, Device device, ScalarType computeType, SamplingSettings? sampling = null)
        : this(name, vqvae, new Dictionary<string, VarTransformer> { [DefaultRole] = transformer }, DefaultRole, new Dictionary<string, ImageClassifier>(), classes, device, computeType, sampling)
    {
    }

    /// <summary>
    /// Wraps loaded modules; they are switched to eval mode and moved to <paramref name="device"/>. Every transformer
    /// (VAR or HMAR) must match the tokenizer's scale schedule, vocabulary and latent width.
    /// <paramref name="defaultTransformer"/> names the default one: a VAR transformer (what <see cref="Transformer"/>
    /// returns) or, in a bundle of HMAR transformers only, an HMAR one.
    /// </summary>
    public ModelBundle(string name, MultiScaleVqvae vqvae, IReadOnlyDictionary<string, VarTransformer> transformers, string defaultTransformer,
        IReadOnlyDictionary<string, ImageClassifier> classifiers, ClassCatalog classes, Device device, ScalarType computeType, SamplingSettings? sampling = null,
        IReadOnlyDictionary<string, HmarTransformer>? hmar = null)
    {
        hmar ??= new Dictionary<string, HmarTransformer>();
        if (!transformers.ContainsKey(defaultTransformer) && !hmar.ContainsKey(defaultTransformer))
            throw new ArgumentException($"no transformer '{defaultTransformer}' (has: {string.Join(", ", transformers.Keys.Concat(hmar.Keys))})", nameof(defaultTransformer));
        foreach (var (role, config) in transformers.Select(t => (t.Key, t.Value.Config)).Concat(hmar.Select(h => (h.Key, h.Value.Backbone))))
        {
            if (!vqvae.Config.PatchNums.SequenceEqual(config.PatchNums))
                throw new ArgumentException($"tokenizer schedule [{string.Join(",", vqvae.Config.PatchNums)}] differs from transformer '{role}''s [{string.Join(",", config.PatchNums)}]");
            if (vqvae.Config.VocabSize != config.VocabSize || vqvae.Config.ZChannels != config.VaeChannels)
                throw new ArgumentException($"tokenizer (V={vqvae.Config.VocabSize}, Cvae={vqvae.Config.ZChannels}) does not match transformer '{role}' (V={config.VocabSize}, Cvae={config.VaeChannels})");
        }
        Name = name;
        Vqvae = vqvae;
        this.transformers = new Dictionary<string, VarTransformer>(transformers, StringComparer.Ordinal);
        this.hmar = new Dictionary<string, HmarTransformer>(hmar, StringComparer.Ordinal);
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
        foreach (var h in this.hmar.Values)
        {
            h.eval();
            h.to(device);
            if (computeType != ScalarType.Float32) h.to(computeType);
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

    /// <summary>
    /// The decoder of a request that names none (model.json <c>decoder</c>): "hmar" (its <c>hmar</c> component) or null =
    /// var (an HMAR-only bundle decodes with hmar regardless).
    /// </summary>
    public string? DefaultDecoder { get; init; }

    /// <summary>
    /// The decoder kind a request that names none gets: "hmar" for an HMAR-only bundle or where <see cref="DefaultDecoder"/>
    /// says so, else "var" (the command line and the service both start from this).
    /// </summary>
    public string UnnamedDecoder => hmar.ContainsKey(DefaultTransformer) ? "hmar" : DefaultDecoder ?? "var";

    /// <summary>Measured HMAR passes per scale (model.json <c>hmar.steps_per_scale</c>), or null: the reference default.</summary>
    public IReadOnlyList<int>? DefaultHmarPasses { get; init; }

    /// <summary>Measured TTS-VAR defaults (model.json <c>tts</c>), or null.</summary>
    public SearchDefaults? SearchDefaults { get; init; }

    /// <summary>
    /// Classes drawn by a transformer of their own (class id → transformer role; model.json <c>class_transformers</c>):
    /// a decoder on the default transformer draws such a class with that one instead (see
    /// <c>Var.Decoding.Decoders.ClassRouting</c>). Empty for most models.
    /// </summary>
    public IReadOnlyDictionary<int, string> ClassTransformers { get; init; } = new Dictionary<int, string>();

    /// <summary>Display name.</summary>
    public string Name { get; }

    /// <summary>The tokenizer, shared by every transformer.</summary>
    public MultiScaleVqvae Vqvae { get; }

    /// <summary>Role of the default transformer.</summary>
    public string DefaultTransformer { get; }

    /// <summary>The default VAR transformer; an <see cref="InvalidOperationException"/> in a bundle whose default is an HMAR transformer.</summary>
    public VarTransformer Transformer => transformers.TryGetValue(DefaultTransformer, out var t)
        ? t
        : throw new InvalidOperationException($"model '{Name}''s transformer '{DefaultTransformer}' is an HMAR transformer (use the hmar decoder)");

    /// <summary>VAR transformers by role.</summary>
    public IReadOnlyDictionary<string, VarTransformer> Transformers => transformers;

    /// <summary>HMAR transformers by role (hmar.md §1; "hmar" in a model folder or for an official hmar-d*.pth).</summary>
    public IReadOnlyDictionary<string, HmarTransformer> Hmar => hmar;

    /// <summary>Real classes every transformer of the bundle knows (class ids 0..NumClasses−1; NumClasses is unconditional).</summary>
    public int NumClasses => transformers.Values.Select(t => t.Config.NumClasses).Concat(hmar.Values.Select(h => h.Backbone.NumClasses)).Min();

    /// <summary>The HMAR transformer of a role, or an <see cref="ArgumentException"/> listing the HMAR roles there are.</summary>
    public HmarTransformer HmarFor(string role) => hmar.TryGetValue(role, out var h)
        ? h
        : throw new ArgumentException($"model '{Name}' has no HMAR transformer '{role}' (has: {(hmar.Count == 0 ? "none" : string.Join(", ", hmar.Keys))})");

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
        foreach (var h in hmar.Values) h.Dispose();
        foreach (var c in classifiers.Values) c.Dispose();
        Vqvae.Dispose();
    }
}
