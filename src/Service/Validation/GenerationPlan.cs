using Var.Service.Models;

namespace Var.Service.Validation;

/// <summary>A validated generation request: the model, one <see cref="ImageSpec"/> per image, output and preview choice.</summary>
public sealed record GenerationPlan(string RequestId, LoadedModel Model, IReadOnlyList<ImageSpec> Images, OutputSpec Output, bool Preview)
{
    /// <summary>Name of the decoder that runs the plan (only "var" exists now).</summary>
    public string Decoder => "var";
}
