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
}
