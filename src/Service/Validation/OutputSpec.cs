using Var.Service.V1;

namespace Var.Service.Validation;

/// <summary>How results are encoded: PNG, JPEG at a quality, or token ids.</summary>
public sealed record OutputSpec(ImageEncoding Encoding, int JpegQuality)
{
    /// <summary>JPEG quality used when the request leaves it unset.</summary>
    public const int DefaultJpegQuality = 90;

    /// <summary>PNG, the default.</summary>
    public static OutputSpec Png { get; } = new(ImageEncoding.Png, DefaultJpegQuality);
}
