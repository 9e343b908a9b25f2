namespace Var.Service.Validation;

/// <summary>
/// A validated edit input: the image at the model's size (RGB, size × size × 3; for outpainting without a region, the
/// canvas) and the pixel mask of the region to regenerate (size × size, 1 = regenerate). Tokenised on the scheduler's
/// torch thread, once per request. <see cref="Feather"/>: the blending radius in pixels (0 = off).
/// </summary>
public sealed record EditSource(byte[] Rgb, float[] Regenerate, string Mode, int Feather);
