using Var.Decoding.Decoders;
using Var.Service.Models;

namespace Var.Service.Validation;

/// <summary>
/// A validated generation request: the model, the decoder that runs it, one <see cref="ImageSpec"/> per image, output
/// and preview choice.
/// </summary>
public sealed record GenerationPlan(string RequestId, LoadedModel Model, IDecoder Decoder, IReadOnlyList<ImageSpec> Images, OutputSpec Output, bool Preview)
{
    /// <summary>Batch rows (and queue places) each image costs: its decoder's widest candidate count.</summary>
    public int RowsPerImage { get; init; } = 1;
}
