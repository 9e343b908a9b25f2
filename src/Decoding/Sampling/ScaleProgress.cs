using Var.Decoding.Core;

namespace Var.Decoding.Sampling;

/// <summary>
/// Progress after one scale. <see cref="Rows"/> maps the session's batch rows to positions in the request list;
/// <see cref="Session"/> (for previews: <see cref="DecodingSession.PreviewImages"/>) is valid only during the callback.
/// </summary>
public sealed record ScaleProgress(int Scale, int NumScales, int TokensDone, int TokensTotal, TimeSpan Elapsed, IReadOnlyList<int> Rows, DecodingSession Session);
