namespace Var.Model.Checkpoints;

/// <summary>Helpers on <see cref="ScalarType"/>.</summary>
public static class ScalarTypeExtensions
{
    /// <summary>Whether the dtype is a floating-point type.</summary>
    public static bool IsFloatingPoint(this ScalarType t) =>
        t is ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Float32 or ScalarType.Float64;
}
