using Var.Model;
using Var.Decoding.Sampling;

namespace Var.Service.Validation;

/// <summary>One validated image of a request: its position in the request, class, seed and full settings.</summary>
public sealed record ImageSpec(int Index, int ClassId, long Seed, SamplingSettings Settings);
