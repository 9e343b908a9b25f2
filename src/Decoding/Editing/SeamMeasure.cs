namespace Var.Decoding.Editing;

/// <summary>
/// <see cref="EditRegion.Seam"/>: mean |Δ| of adjacent pixels across the region's border, inside the whole kept region,
/// and in the kept band just outside the border (the like-for-like reference).
/// </summary>
public readonly record struct SeamMeasure(double Border, double Kept, double Band);
