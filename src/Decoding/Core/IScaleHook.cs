namespace Var.Decoding.Core;

/// <summary>Runs after every scale of the loop, on its thread: progress, previews, selection (which may gather rows).</summary>
public interface IScaleHook
{
    /// <summary>Called after scale <paramref name="si"/> was committed to <paramref name="session"/>.</summary>
    void AfterScale(DecodingSession session, int si);
}
