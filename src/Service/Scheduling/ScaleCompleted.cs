namespace Var.Service.Scheduling;

/// <summary>
/// A batch holding images of the request finished a scale, or a pass inside a scale (HMAR's masked steps:
/// <see cref="Step"/> &lt; <see cref="NumSteps"/>). <see cref="Indices"/> are the request's images still in the batch;
/// <see cref="PreviewRgb"/> (when previews were asked, and only when the scale is finished) holds one size×size×3 RGB
/// buffer per index.
/// </summary>
public sealed record ScaleCompleted(int Scale, int NumScales, int TokensDone, int TokensTotal, TimeSpan Elapsed,
    IReadOnlyList<int> Indices, IReadOnlyList<byte[]>? PreviewRgb, int Size) : TicketEvent
{
    /// <summary>Candidates drawn at this scale per index (null: one each).</summary>
    public IReadOnlyList<int>? Candidates { get; init; }

    /// <summary>Passes of <see cref="Scale"/> done (1-based; <see cref="NumSteps"/> when the scale is finished).</summary>
    public int Step { get; init; } = 1;

    /// <summary>Passes of <see cref="Scale"/>: 1, or 1 + its masked steps under HMAR.</summary>
    public int NumSteps { get; init; } = 1;
}
