namespace Var.Decoding.Core;

/// <summary>
/// What a decoder runs on the one loop: which step produces which scales (contiguous segments covering every scale),
/// optional per-scale sampling settings, an optional token constraint, and the hooks run after every scale.
/// </summary>
public sealed record DecodingPlan
{
    /// <summary>A plan of segments; throws <see cref="ArgumentException"/> unless they cover 0..numScales−1 in order.</summary>
    public DecodingPlan(int numScales, IReadOnlyList<PlanSegment> segments)
    {
        int at = 0;
        foreach (var s in segments)
        {
            if (s.First != at || s.End <= s.First)
                throw new ArgumentException($"plan segments must cover scales 0..{numScales - 1} in order; got [{s.First}, {s.End}) after scale {at - 1}", nameof(segments));
            at = s.End;
        }
        if (at != numScales) throw new ArgumentException($"plan segments cover scales 0..{at - 1}, the model has {numScales}", nameof(segments));
        NumScales = numScales;
        Segments = segments;
    }

    /// <summary>One step for every scale: plain VAR.</summary>
    public static DecodingPlan Single(int numScales, IScaleStep step) => new(numScales, [new PlanSegment(0, numScales, step)]);

    /// <summary>Number of scales.</summary>
    public int NumScales { get; }

    /// <summary>The segments, in scale order.</summary>
    public IReadOnlyList<PlanSegment> Segments { get; }

    /// <summary>Sampling settings per absolute scale index (null: the rows' own settings everywhere).</summary>
    public IReadOnlyList<ScaleSampling>? Scales
    {
        get => scales;
        init
        {
            if (value is not null && value.Count != NumScales) throw new ArgumentException($"{value.Count} per-scale settings for {NumScales} scales", nameof(Scales));
            foreach (var s in value ?? []) s.Validate();
            scales = value;
        }
    }

    private readonly IReadOnlyList<ScaleSampling>? scales;

    /// <summary>Forces known tokens after the draw (editing), or null.</summary>
    public ITokenConstraint? Constraint { get; init; }

    /// <summary>Hooks run after every scale, in order.</summary>
    public IReadOnlyList<IScaleHook> Hooks { get; init; } = [];

    /// <summary>The step for scale <paramref name="si"/>.</summary>
    public IScaleStep StepFor(int si) => Segments.First(s => si >= s.First && si < s.End).Step;

    /// <summary>The sampling settings at scale <paramref name="si"/>.</summary>
    public ScaleSampling SamplingAt(int si) => scales is { } s ? s[si] : ScaleSampling.RowSettings;

    /// <summary>This plan with every segment's step replaced by <paramref name="wrap"/>(step); settings, constraint and hooks kept.</summary>
    public DecodingPlan WithSteps(Func<IScaleStep, IScaleStep> wrap) =>
        new(NumScales, Segments.Select(s => s with { Step = wrap(s.Step) }).ToArray()) { Scales = Scales, Constraint = Constraint, Hooks = Hooks };

    /// <summary>This plan with <paramref name="hook"/> run after its own hooks.</summary>
    public DecodingPlan WithHook(IScaleHook hook) => this with { Hooks = [.. Hooks, hook] };
}
