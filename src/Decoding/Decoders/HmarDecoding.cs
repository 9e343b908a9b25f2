using Var.Decoding.Core;
using Var.Model;
using Var.Model.Checkpoints;

namespace Var.Decoding.Decoders;

/// <summary>
/// HMAR decoding (hmar.md §3): one <see cref="HmarScaleStep"/> for every scale (no KV cache; each scale attends only
/// to itself), with masked steps inside a scale per <see cref="PassesPerScale"/>.
/// </summary>
/// <param name="PassesPerScale">Passes per scale (1 = the next-scale pass alone), or null for the reference default.</param>
/// <param name="Transformer">Role of the HMAR transformer in the model bundle.</param>
public sealed record HmarDecoding(IReadOnlyList<int>? PassesPerScale = null, string Transformer = ModelLoader.HmarRole) : IDecoder
{
    /// <inheritdoc />
    public string Kind => "hmar";

    /// <inheritdoc />
    public string BatchKey => $"hmar:{Transformer}:steps={(PassesPerScale is null ? "default" : string.Join(",", PassesPerScale))}";

    /// <summary>The schedule for a model's scales; throws <see cref="ArgumentException"/> naming steps_per_scale.</summary>
    public HmarSchedule Schedule(IReadOnlyList<int> patchNums) =>
        PassesPerScale is null ? HmarSchedule.Default(patchNums) : HmarSchedule.FromPasses(PassesPerScale, patchNums);

    /// <inheritdoc />
    public DecodingPlan Plan(ModelBundle model)
    {
        var hmar = model.HmarFor(Transformer);
        var schedule = Schedule(model.Vqvae.Config.PatchNums);
        return DecodingPlan.Single(model.Vqvae.Config.PatchNums.Length, new HmarScaleStep(hmar, schedule.TokensPerPass));
    }
}
