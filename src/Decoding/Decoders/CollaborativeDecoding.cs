using System.Globalization;
using Var.Decoding.Core;
using Var.Model;

namespace Var.Decoding.Decoders;

/// <summary>
/// Collaborative decoding (CoDe, code.md §2): the drafter's cached steps make scales 0…N−1; at scale N the refiner
/// takes over (its cache is prefilled in one block-causal pass over every drafted position, the drafter's cache is
/// freed), and its cached steps make the rest. f̂ keeps accumulating across the switch and the CFG ramp continues on
/// the absolute scale index. With N = K the drafter makes every scale (plain VAR).
/// </summary>
/// <param name="DraftScales">N, the scales the drafter makes: 1…K.</param>
/// <param name="Drafter">Role of the drafter in the model bundle.</param>
/// <param name="Refiner">Role of the refiner in the model bundle.</param>
/// <param name="RefinerCfg">Guidance on the refiner's scales instead of each row's cfg (null = the row's).</param>
/// <param name="Temperatures">Temperature per absolute scale index (CoDe's default for 256²: 1.1 on the first seven of ten scales, then 1.0), or null for 1.</param>
public sealed record CollaborativeDecoding(int DraftScales, string Drafter = ModelBundle.DefaultRole, string Refiner = CollaborativeDecoding.DefaultRefiner,
    double? RefinerCfg = null, IReadOnlyList<double>? Temperatures = null) : IDecoder
{
    /// <summary>Role of the refiner in a model folder.</summary>
    public const string DefaultRefiner = "refiner";

    /// <inheritdoc />
    public string Kind => "code";

    /// <inheritdoc />
    public string BatchKey => string.Create(CultureInfo.InvariantCulture,
        $"code:{Drafter}>{Refiner}@{DraftScales}:cfg={RefinerCfg?.ToString("R", CultureInfo.InvariantCulture) ?? "row"}:t={(Temperatures is null ? "1" : string.Join(",", Temperatures.Select(t => t.ToString("R", CultureInfo.InvariantCulture))))}");

    /// <inheritdoc />
    public DecodingPlan Plan(ModelBundle model)
    {
        int k = model.Vqvae.Config.PatchNums.Length;
        if (DraftScales < 1 || DraftScales > k)
            throw new ArgumentOutOfRangeException(nameof(DraftScales), DraftScales, $"draft scales must be in 1..{k} (the model has {k} scales)");
        if (Temperatures is not null && Temperatures.Count != k)
            throw new ArgumentException($"{Temperatures.Count} temperatures given for {k} scales", nameof(Temperatures));
        var drafter = model.TransformerFor(Drafter);
        var refiner = model.TransformerFor(Refiner);
        if (refiner.Config.NumClasses != drafter.Config.NumClasses)
            throw new ArgumentException($"refiner '{Refiner}' has {refiner.Config.NumClasses} classes, drafter '{Drafter}' {drafter.Config.NumClasses}", nameof(Refiner));
        int n = DraftScales;
        // The drafter's cache holds only its own scales (code.md §2.6: it is freed at the hand-over).
        var segments = new List<PlanSegment> { new(0, n, new CachedScaleStep(drafter, drafter.ScaleRanges[n - 1].End)) };
        if (n < k) segments.Add(new PlanSegment(n, n + 1, new PrefillScaleStep(refiner)));
        if (n + 1 < k) segments.Add(new PlanSegment(n + 1, k, new CachedScaleStep(refiner)));
        IReadOnlyList<ScaleSampling>? scales = null;
        if (RefinerCfg is not null || Temperatures is not null)
        {
            scales = Enumerable.Range(0, k).Select(si => new ScaleSampling
            {
                Cfg = si >= n ? RefinerCfg : null,
                Temperature = Temperatures?[si] ?? 1.0,
            }).ToArray();
        }
        return new DecodingPlan(k, segments) { Scales = scales };
    }
}
