using Var.Decoding.Editing;
using Var.Model;

namespace Var.Decoding.Sampling;

/// <summary>One image to generate: class id, seed and settings. Its optional token cancels only this image.</summary>
public sealed record SampleRequest(int ClassId, long Seed, SamplingSettings Settings)
{
    /// <summary>Cancels this image alone (its row leaves the batch at the next scale).</summary>
    public CancellationToken Cancellation { get; init; }

    /// <summary>
    /// An edit (in-painting / class editing, var.md §5): the image's tokens are forced where its mask keeps them. The
    /// class may then be the unconditional one (the number of classes): in-painting without a class.
    /// </summary>
    public EditTarget? Edit { get; init; }
}
