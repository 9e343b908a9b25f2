using Var.Model.Checkpoints;
using Var.Model.Classes;
using Var.Model.Transformer;
using Var.Model.Vqvae;

namespace Var.Model;

/// <summary>
/// A loaded generator: tokenizer + transformer on one device, with class names. The transformer may run in
/// bfloat16 (<see cref="ComputeType"/>); the tokenizer and f̂ stay float32.
/// </summary>
public sealed class GenerativeModel : IDisposable
{
    /// <summary>Wraps loaded modules; they are switched to eval mode and moved to <paramref name="device"/>.</summary>
    public GenerativeModel(string name, MultiScaleVqvae vqvae, VarTransformer transformer, ClassCatalog classes, Device device, ScalarType computeType, SamplingDefaults? sampling = null)
    {
        Sampling = sampling ?? new SamplingDefaults();
        if (!vqvae.Config.PatchNums.SequenceEqual(transformer.Config.PatchNums))
            throw new ArgumentException($"tokenizer schedule [{string.Join(",", vqvae.Config.PatchNums)}] differs from the transformer's [{string.Join(",", transformer.Config.PatchNums)}]");
        if (vqvae.Config.VocabSize != transformer.Config.VocabSize || vqvae.Config.ZChannels != transformer.Config.VaeChannels)
            throw new ArgumentException($"tokenizer (V={vqvae.Config.VocabSize}, Cvae={vqvae.Config.ZChannels}) does not match the transformer (V={transformer.Config.VocabSize}, Cvae={transformer.Config.VaeChannels})");
        Name = name;
        Vqvae = vqvae;
        Transformer = transformer;
        Classes = classes;
        Device = device;
        ComputeType = computeType;
        vqvae.eval();
        transformer.eval();
        vqvae.to(device);
        transformer.to(device);
        if (computeType != ScalarType.Float32) transformer.to(computeType);
    }

    /// <summary>Recommended sampling settings.</summary>
    public SamplingDefaults Sampling { get; }

    /// <summary>Display name.</summary>
    public string Name { get; }

    /// <summary>The tokenizer.</summary>
    public MultiScaleVqvae Vqvae { get; }

    /// <summary>The next-scale transformer.</summary>
    public VarTransformer Transformer { get; }

    /// <summary>Class names and lookup.</summary>
    public ClassCatalog Classes { get; }

    /// <summary>Where the tensors live.</summary>
    public Device Device { get; }

    /// <summary>Transformer weights' and activations' dtype (float32 or bfloat16).</summary>
    public ScalarType ComputeType { get; }

    /// <summary>Side of the square images produced.</summary>
    public int ImageSize => Vqvae.Config.ImageSize;

    /// <inheritdoc />
    public void Dispose()
    {
        Transformer.Dispose();
        Vqvae.Dispose();
    }
}
