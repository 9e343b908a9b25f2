namespace Var.Decoding.Sampling;

/// <summary>A generated image: RGB bytes (H, W, 3) row-major, its tokens per scale, and the request it answers.</summary>
public sealed record GeneratedImage(SampleRequest Request, int Size, byte[] Rgb, int[][] Tokens);
