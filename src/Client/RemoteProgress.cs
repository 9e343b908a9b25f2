namespace Var.Client;

/// <summary>A progress report of a remote generation.</summary>
/// <param name="Stage">What happened.</param>
/// <param name="QueuePosition">Images ahead in the server's queue when accepted.</param>
/// <param name="Scale">0-based scale just finished (Scale stage).</param>
/// <param name="NumScales">Scales in all.</param>
/// <param name="ImagesDone">Images received so far.</param>
/// <param name="ImagesTotal">Images asked for.</param>
/// <param name="Previews">Partial images as (index, PNG bytes), when previews were asked.</param>
public sealed record RemoteProgress(RemoteStage Stage, int QueuePosition, int Scale, int NumScales, int ImagesDone, int ImagesTotal,
    IReadOnlyList<(int Index, byte[] Png)> Previews)
{
    /// <summary>Scale stage: passes of <see cref="Scale"/> done (1-based; <see cref="NumSteps"/> when it is finished).</summary>
    public int Step { get; init; } = 1;

    /// <summary>Scale stage: passes of <see cref="Scale"/> (1, or 1 + its masked steps with the hmar decoder).</summary>
    public int NumSteps { get; init; } = 1;
}
