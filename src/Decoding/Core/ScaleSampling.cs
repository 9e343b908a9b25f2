namespace Var.Decoding.Core;

/// <summary>
/// Sampling settings a plan fixes for one absolute scale index, over the rows' own (null = the row's setting). CoDe
/// (code.md §2.2) uses a per-scale temperature and top-k list, and may guide the refiner's scales with its own cfg.
/// </summary>
public sealed record ScaleSampling
{
    /// <summary>Settings that change nothing.</summary>
    public static ScaleSampling RowSettings { get; } = new();

    /// <summary>Guidance used instead of every row's cfg at this scale (the ramp t = cfg · si/(K−1) stays).</summary>
    public double? Cfg { get; init; }

    /// <summary>
    /// The guidance ramp t/cfg at this step instead of si/(K−1) (null = the ramp). HMAR's masked steps use 1e-6
    /// (hmar.md §3 step 4: the reference hard-codes it, so they are effectively unguided).
    /// </summary>
    public double? GuidanceRatio { get; init; }

    /// <summary>Top-k used instead of every row's (0 = off).</summary>
    public int? TopK { get; init; }

    /// <summary>Top-p used instead of every row's (0 = off).</summary>
    public double? TopP { get; init; }

    /// <summary>Divides the filtered logits (after top-k/top-p, before the softmax); 1 = off.</summary>
    public double Temperature { get; init; } = 1.0;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the bad field.</summary>
    public void Validate()
    {
        if (Cfg is { } c && (double.IsNaN(c) || c < 0 || c > 50)) throw new ArgumentOutOfRangeException(nameof(Cfg), c, "cfg must be in [0, 50]");
        if (GuidanceRatio is { } g && (double.IsNaN(g) || g < 0 || g > 1)) throw new ArgumentOutOfRangeException(nameof(GuidanceRatio), g, "the guidance ratio must be in [0, 1]");
        if (TopK is < 0) throw new ArgumentOutOfRangeException(nameof(TopK), TopK, "top-k must be ≥ 0 (0 = off)");
        if (TopP is { } p && (double.IsNaN(p) || p < 0 || p > 1)) throw new ArgumentOutOfRangeException(nameof(TopP), p, "top-p must be in [0, 1] (0 = off)");
        if (!(Temperature > 0) || double.IsInfinity(Temperature)) throw new ArgumentOutOfRangeException(nameof(Temperature), Temperature, "temperature must be > 0");
    }
}
