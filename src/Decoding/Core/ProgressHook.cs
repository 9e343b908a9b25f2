using System.Diagnostics;
using Var.Decoding.Sampling;

namespace Var.Decoding.Core;

/// <summary>Reports a <see cref="ScaleProgress"/> after every scale, timed from the hook's creation.</summary>
public sealed class ProgressHook(Action<ScaleProgress> report) : IScaleHook
{
    private readonly Stopwatch clock = Stopwatch.StartNew();

    /// <inheritdoc />
    public void AfterScale(DecodingSession session, int si) =>
        report(new ScaleProgress(si, session.NumScales, session.TokensDone, session.TokensTotal, clock.Elapsed,
            session.Rows.Select(r => r.Origin).ToArray(), session));
}
