namespace Var.Model.Checkpoints;

/// <summary>model.json <c>"code"</c>: the recommended CoDe setting of a model folder and how it was chosen.</summary>
public sealed record CodeDefaults
{
    /// <summary>Scales made by the drafter before the refiner takes over (N).</summary>
    public int DraftScales { get; init; }

    /// <summary>How N was chosen (measured speed and quality).</summary>
    public string? Note { get; init; }
}
