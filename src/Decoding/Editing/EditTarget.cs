using Var.Model;

namespace Var.Decoding.Editing;

/// <summary>
/// What an edit keeps (var.md §5): the input image's token ids at every scale, and a keep mask at the last scale's
/// token resolution (side × side, row-major, 1 = keep the image's token, 0 = regenerate).
/// </summary>
public sealed record EditTarget(int[][] Tokens, float[] KeepMask, int MaskSide)
{
    /// <summary>The input pixels (size × size × 3) the result is blended into, when feathering.</summary>
    public byte[]? Original { get; init; }

    /// <summary>Per-pixel weight of the generated image (size × size): 1 in the region, ramping to 0 over the feather radius outside it.</summary>
    public float[]? BlendWeights { get; init; }

    /// <summary>
    /// Feathering: the decoded result is kept inside the region and blended linearly into the original pixels over
    /// <paramref name="radius"/> pixels outside it (Chebyshev distance), so no seam shows; beyond that the output is
    /// the input itself. 0 = off (the output is the decoded image everywhere).
    /// </summary>
    public EditTarget WithFeather(byte[] rgb, float[] regenerate, int radius)
    {
        if (radius < 0) throw new ArgumentOutOfRangeException(nameof(radius), radius, "the feather radius must be ≥ 0");
        if (radius == 0) return this with { Original = null, BlendWeights = null };
        int size = (int)Math.Round(Math.Sqrt(regenerate.Length));
        // Two-pass chessboard distance to the region, in pixels.
        var dist = regenerate.Select(r => r >= 0.5f ? 0 : int.MaxValue / 2).ToArray();
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++)
            {
                int i = y * size + x, d = dist[i];
                if (x > 0) d = Math.Min(d, dist[i - 1] + 1);
                if (y > 0) d = Math.Min(d, dist[i - size] + 1);
                if (x > 0 && y > 0) d = Math.Min(d, dist[i - size - 1] + 1);
                if (x < size - 1 && y > 0) d = Math.Min(d, dist[i - size + 1] + 1);
                dist[i] = d;
            }
        for (int y = size - 1; y >= 0; y--)
            for (int x = size - 1; x >= 0; x--)
            {
                int i = y * size + x, d = dist[i];
                if (x < size - 1) d = Math.Min(d, dist[i + 1] + 1);
                if (y < size - 1) d = Math.Min(d, dist[i + size] + 1);
                if (x < size - 1 && y < size - 1) d = Math.Min(d, dist[i + size + 1] + 1);
                if (x > 0 && y < size - 1) d = Math.Min(d, dist[i + size - 1] + 1);
                dist[i] = d;
            }
        var weights = dist.Select(d => (float)Math.Max(0, 1 - d / (double)(radius + 1))).ToArray();
        return this with { Original = rgb.ToArray(), BlendWeights = weights };
    }

    /// <summary>The output pixels: <paramref name="generated"/> blended into <see cref="Original"/> (unchanged without feathering).</summary>
    public byte[] Composite(byte[] generated)
    {
        if (Original is null || BlendWeights is null) return generated;
        var output = new byte[generated.Length];
        for (int i = 0; i < generated.Length; i++)
        {
            float w = BlendWeights[i / 3];
            output[i] = (byte)Math.Round(Original[i] + (generated[i] - Original[i]) * w);
        }
        return output;
    }
    /// <summary>
    /// Tokenises <paramref name="rgb"/> (size × size × 3, the model's image size) and turns the pixel mask
    /// <paramref name="regenerate"/> (size × size, 1 = regenerate) into the token keep mask: a token is regenerated when
    /// at least half of its pixels are. Throws <see cref="ArgumentException"/> when nothing would be regenerated.
    /// </summary>
    public static EditTarget FromImage(ModelBundle model, byte[] rgb, float[] regenerate)
    {
        int size = model.ImageSize;
        if (rgb.Length != size * size * 3) throw new ArgumentException($"the image must be {size}×{size} RGB", nameof(rgb));
        int side = model.Vqvae.Config.PatchNums[^1];
        var keep = KeepMaskFor(regenerate, size, side);
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        var image = Imaging.ImageCodec.ToTensor([rgb], size, model.Device);
        var tokens = model.Vqvae.ImageToTokens(image).Select(t => t.to(ScalarType.Int32).cpu().data<int>().ToArray()).ToArray();
        return new EditTarget(tokens, keep, side);
    }

    /// <summary>
    /// The last-scale keep mask (side × side, 1 = keep) of a size × size pixel mask (1 = regenerate): a token is
    /// regenerated when at least half of its pixels are. Throws <see cref="ArgumentException"/> when none would be.
    /// </summary>
    public static float[] KeepMaskFor(float[] regenerate, int size, int side)
    {
        if (regenerate.Length != size * size) throw new ArgumentException($"the mask must be {size}×{size}", nameof(regenerate));
        int cell = size / side;
        var keep = new float[side * side];
        for (int ty = 0; ty < side; ty++)
            for (int tx = 0; tx < side; tx++)
            {
                double sum = 0;
                for (int y = ty * cell; y < (ty + 1) * cell; y++)
                    for (int x = tx * cell; x < (tx + 1) * cell; x++) sum += regenerate[y * size + x];
                keep[ty * side + tx] = sum / (cell * cell) >= 0.5 ? 0 : 1;
            }
        if (keep.All(k => k == 1)) throw new ArgumentException("the mask regenerates no token (mark at least half of one token's pixels white)");
        return keep;
    }

    /// <summary>
    /// Keep mask (pn²) of scale <paramref name="si"/>: the last-scale mask resized bilinearly (align_corners = false)
    /// to pn × pn and kept where > 0.5; scales of at most 3 tokens (the 1×1 start) are always kept (var.md §5).
    /// </summary>
    public bool[] KeepAt(int si, int pn)
    {
        lock (keepByScale)
        {
            if (keepByScale.TryGetValue(pn, out var cached)) return cached;
            var keep = ResizeKeep(pn);
            keepByScale[pn] = keep;
            return keep;
        }
    }

    // Resized keep masks by side: one per scale, shared by every row of the edit.
    private readonly Dictionary<int, bool[]> keepByScale = [];

    private bool[] ResizeKeep(int pn)
    {
        if (pn * pn <= 3) return Enumerable.Repeat(true, pn * pn).ToArray();
        using var scope = NewDisposeScope();
        var m = tensor(KeepMask).view(1, 1, MaskSide, MaskSide);
        var resized = nn.functional.interpolate(m, [pn, pn], mode: InterpolationMode.Bilinear, align_corners: false);
        return resized.gt(0.5).view(-1).data<bool>().ToArray();
    }
}
