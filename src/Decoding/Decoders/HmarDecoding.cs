using Var.Decoding.Core;
using Var.Model;
using Var.Model.Checkpoints;

namespace Var.Decoding.Decoders;

/// <summary>
/// HMAR decoding (hmar.md §3): one <see cref="HmarScaleStep"/> for every scale (no KV cache; each scale attends only
/// to itself), with masked steps inside a scale per <see cref="PassesPerScale"/>.
/// </summary>
/// <param name="PassesPerScale">Passes per scale (1 = the next-scale pass alone), or null for the model's default (its
/// model.json <c>hmar.steps_per_scale</c>, else the reference default).</param>
/// <param name="Transformer">Role of the HMAR transformer in the model bundle.</param>
public sealed record HmarDecoding(IReadOnlyList<int>? PassesPerScale = null, string Transformer = ModelLoader.HmarRole) : IDecoder
{
    /// <inheritdoc />
    public string Kind => "hmar";

    /// <inheritdoc />
    public string BatchKey => $"hmar:{Transformer}:steps={(PassesPerScale is null ? "default" : string.Join(",", PassesPerScale))}";

    /// <summary>The schedule for a model; throws <see cref="ArgumentException"/> naming steps_per_scale.</summary>
    public HmarSchedule Schedule(ModelBundle model) => Schedule(model.Vqvae.Config.PatchNums, model.DefaultHmarPasses);

    /// <summary>
    /// The schedule for scales <paramref name="patchNums"/>, <paramref name="modelDefault"/> standing in for a null
    /// <see cref="PassesPerScale"/> (null too: the reference default); throws <see cref="ArgumentException"/> naming
    /// steps_per_scale.
    /// </summary>
    public HmarSchedule Schedule(IReadOnlyList<int> patchNums, IReadOnlyList<int>? modelDefault = null) =>
        (PassesPerScale ?? modelDefault) is { } passes ? HmarSchedule.FromPasses(passes, patchNums) : HmarSchedule.Default(patchNums);

    /// <inheritdoc />
    public DecodingPlan Plan(ModelBundle model)
    {
        var hmar = model.HmarFor(Transformer);
        var schedule = Schedule(model);
        return DecodingPlan.Single(model.Vqvae.Config.PatchNums.Length, new HmarScaleStep(hmar, schedule.TokensPerPass));
    }
}
