namespace Var.Decoding.Editing;

/// <summary>Kinds of edit (var.md §5).</summary>
public enum EditKind
{
    /// <summary>Regenerate the masked region inside the image; no class unless one is given.</summary>
    Inpaint,

    /// <summary>Extend the image: the uncovered (or masked) area is regenerated; no class unless one is given.</summary>
    Outpaint,

    /// <summary>Regenerate the masked region as the requested class.</summary>
    ClassEdit,
}
