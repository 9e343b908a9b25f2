namespace Var.Client;

/// <summary>What an <c>Edit</c> call asks for: the generation settings, the image and the region to regenerate.</summary>
public sealed record RemoteEdit
{
    /// <summary>Model, class (empty = unconditional in-painting), count, seeds, settings and decoder.</summary>
    public required RemoteRequest Generation { get; init; }

    /// <summary>The image to edit, PNG or JPEG bytes.</summary>
    public required byte[] Image { get; init; }

    /// <summary>Mask PNG (white = regenerate, black = keep); null when <see cref="Box"/> names the region.</summary>
    public byte[]? Mask { get; init; }

    /// <summary>Region as x0, y0, x1, y1 in [0, 1]; null when <see cref="Mask"/> is given (or for a plain outpaint).</summary>
    public IReadOnlyList<double>? Box { get; init; }

    /// <summary>"inpaint", "outpaint" or "edit".</summary>
    public string Mode { get; init; } = "inpaint";

    /// <summary>Blend radius into the input's pixels outside the region (0 = off).</summary>
    public int Feather { get; init; }
}
