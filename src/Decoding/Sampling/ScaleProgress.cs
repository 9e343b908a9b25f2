using Var.Decoding.Core;

namespace Var.Decoding.Sampling;

/// <summary>
/// Progress after one scale, or after one pass inside a scale drawn in several (HMAR's masked steps: then
/// <see cref="Step"/> &lt; <see cref="Steps"/>, <see cref="TokensDone"/> counts the scale's tokens fixed so far, and the
/// scale is not committed yet). <see cref="Rows"/> maps the session's batch rows to positions in the request list;
/// <see cref="Session"/> (for previews: <see cref="DecodingSession.PreviewImages"/>) is valid only during the callback.
/// </summary>
public sealed record ScaleProgress(int Scale, int NumScales, int TokensDone, int TokensTotal, TimeSpan Elapsed, IReadOnlyList<int> Rows, DecodingSession Session)
{
    /// <summary>Passes of <see cref="Scale"/> done (1-based; equal to <see cref="Steps"/> when the scale is finished).</summary>
    public int Step { get; init; } = 1;

    /// <summary>Passes of <see cref="Scale"/>: 1, or 1 + its masked steps under HMAR.</summary>
    public int Steps { get; init; } = 1;

    /// <summary>Whether the scale is finished (committed); false for the passes before its last.</summary>
    public bool ScaleFinished => Step == Steps;
}
