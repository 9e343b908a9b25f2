using System.Diagnostics;
using Var.Decoding.Sampling;

namespace Var.Decoding.Core;

/// <summary>
/// Reports a <see cref="ScaleProgress"/> after every scale and after every pass inside a scale drawn in several
/// (HMAR's masked steps), timed from the hook's creation.
/// </summary>
public sealed class ProgressHook(Action<ScaleProgress> report) : IScaleHook
{
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private (int Scale, int Passes) current = (-1, 1);

    /// <inheritdoc />
    public void AfterPass(DecodingSession session, int si, int passesDone, int passes, int tokensFixed)
    {
        current = (si, passes);
        report(new ScaleProgress(si, session.NumScales, session.TokensDone + tokensFixed, session.TokensTotal, clock.Elapsed,
            session.Rows.Select(r => r.Origin).ToArray(), session)
        {
            Step = passesDone,
            Steps = passes,
        });
    }

    /// <inheritdoc />
    public void AfterScale(DecodingSession session, int si)
    {
        int passes = current.Scale == si ? current.Passes : 1;
        report(new ScaleProgress(si, session.NumScales, session.TokensDone, session.TokensTotal, clock.Elapsed,
            session.Rows.Select(r => r.Origin).ToArray(), session)
        {
            Step = passes,
            Steps = passes,
        });
    }
}
