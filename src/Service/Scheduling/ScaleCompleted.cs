namespace Var.Service.Scheduling;

/// <summary>
/// A batch holding images of the request finished a scale. <see cref="Indices"/> are the request's images still in the
/// batch; <see cref="PreviewRgb"/> (when previews were asked) holds one size×size×3 RGB buffer per index.
/// </summary>
public sealed record ScaleCompleted(int Scale, int NumScales, int TokensDone, int TokensTotal, TimeSpan Elapsed,
    IReadOnlyList<int> Indices, IReadOnlyList<byte[]>? PreviewRgb, int Size) : TicketEvent
{
    /// <summary>Candidates drawn at this scale per index (null: one each).</summary>
    public IReadOnlyList<int>? Candidates { get; init; }
}
