using Var.Model;
using Var.Decoding.Sampling;

namespace Var.Service.Validation;

/// <summary>One validated image of a request: its position in the request, class (the unconditional class K for an edit without one), seed and full settings.</summary>
public sealed record ImageSpec(int Index, int ClassId, long Seed, SamplingSettings Settings)
{
    /// <summary>The edit this image belongs to, or null for a generation.</summary>
    public EditSource? Edit { get; init; }
}
