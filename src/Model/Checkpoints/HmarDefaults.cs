namespace Var.Model.Checkpoints;

/// <summary>model.json <c>"hmar"</c>: a model folder's measured HMAR schedule and how it was chosen.</summary>
public sealed record HmarDefaults
{
    /// <summary>Passes per scale (1 = the next-scale pass alone) used when a request names no schedule.</summary>
    public List<int>? StepsPerScale { get; init; }

    /// <summary>The measurement behind the choice.</summary>
    public string? Note { get; init; }
}
