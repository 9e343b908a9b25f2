namespace Var.Decoding.Core;

/// <summary>Scales [<paramref name="First"/>, <paramref name="End"/>) run by <paramref name="Step"/>.</summary>
public sealed record PlanSegment(int First, int End, IScaleStep Step);
