namespace Var.Decoding.Core;

/// <summary>Runs after every scale of the loop, on its thread: progress, previews, selection (which may gather rows).</summary>
public interface IScaleHook
{
    /// <summary>
    /// Called once before scale 0 is drawn (not when a run resumes a session that has drawn scales), e.g. to widen
    /// each request to its first candidates.
    /// </summary>
    void BeforeFirstScale(DecodingSession session)
    {
    }

    /// <summary>Called after scale <paramref name="si"/> was committed to <paramref name="session"/>.</summary>
    void AfterScale(DecodingSession session, int si);

    /// <summary>
    /// Called inside a scale drawn in several passes (HMAR's masked steps), after each pass but the last (the last
    /// ends with <see cref="AfterScale"/>): <paramref name="passesDone"/> of <paramref name="passes"/> passes are done
    /// and <paramref name="tokensFixed"/> of the scale's tokens are fixed; nothing of the scale is committed yet.
    /// </summary>
    void AfterPass(DecodingSession session, int si, int passesDone, int passes, int tokensFixed)
    {
    }
}
