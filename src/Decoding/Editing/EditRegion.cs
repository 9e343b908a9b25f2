namespace Var.Decoding.Editing;

/// <summary>Regions to regenerate as size×size pixel masks (1 = regenerate), and the outpainting canvas rule.</summary>
public static class EditRegion
{
    /// <summary>Default scale of the image inside the canvas when outpainting without a mask.</summary>
    public const double DefaultOutpaintScale = 0.75;

    /// <summary>
    /// The box [x0, x1) × [y0, y1) in [0, 1] image coordinates (x right, y down), rounded to pixels. Throws
    /// <see cref="ArgumentException"/> unless 0 ≤ x0 &lt; x1 ≤ 1 and 0 ≤ y0 &lt; y1 ≤ 1.
    /// </summary>
    public static float[] Box(int size, double x0, double y0, double x1, double y1)
    {
        static bool In01(double v) => v >= 0 && v <= 1;
        if (!In01(x0) || !In01(y0) || !In01(x1) || !In01(y1) || x0 >= x1 || y0 >= y1)
            throw new ArgumentException($"box ({x0}, {y0}, {x1}, {y1}) must have 0 ≤ x0 < x1 ≤ 1 and 0 ≤ y0 < y1 ≤ 1");
        int px0 = (int)Math.Round(x0 * size), px1 = (int)Math.Round(x1 * size), py0 = (int)Math.Round(y0 * size), py1 = (int)Math.Round(y1 * size);
        var mask = new float[size * size];
        for (int y = py0; y < py1; y++)
            for (int x = px0; x < px1; x++) mask[y * size + x] = 1;
        return mask;
    }

    /// <summary>
    /// Outpainting without a mask: the image (size×size×3) shrunk by <paramref name="scale"/> (nearest-neighbour
    /// sampling of the pixel grid) and centred on a black canvas; the uncovered border is the region to regenerate.
    /// </summary>
    public static (byte[] Canvas, float[] Mask) Outpaint(byte[] rgb, int size, double scale = DefaultOutpaintScale)
    {
        if (!(scale > 0 && scale < 1)) throw new ArgumentException($"outpaint scale {scale} must be in (0, 1)");
        int inner = Math.Max(1, (int)Math.Round(size * scale)), at = (size - inner) / 2;
        var canvas = new byte[size * size * 3];
        var mask = Enumerable.Repeat(1f, size * size).ToArray();
        for (int y = 0; y < inner; y++)
            for (int x = 0; x < inner; x++)
            {
                int sy = Math.Min(size - 1, (int)((y + 0.5) * size / inner)), sx = Math.Min(size - 1, (int)((x + 0.5) * size / inner));
                int dst = (at + y) * size + at + x;
                Array.Copy(rgb, (sy * size + sx) * 3, canvas, dst * 3, 3);
                mask[dst] = 0;
            }
        return (canvas, mask);
    }

    /// <summary>
    /// Seam check of an edited image (size × size × 3) against its region (size × size, 1 = regenerated): mean absolute
    /// differences (over the three channels) of horizontally or vertically adjacent pixels, for the pairs that straddle
    /// the region's border, for every pair inside the kept region, and for the kept band: for each border pair (a
    /// regenerated, b = a + d kept) the next pair outward on the same line, (b, b + d), when b + d is kept too — the same
    /// orientation and the same distance from the region, so it crosses the image's own structure where the border does.
    /// No seam shows when the border is no larger than the band.
    /// </summary>
    public static SeamMeasure Seam(byte[] rgb, float[] regenerate, int size)
    {
        double border = 0, kept = 0, band = 0;
        long nBorder = 0, nKept = 0, nBand = 0;
        bool Regenerated(int i) => regenerate[i] >= 0.5f;
        double Diff(int a, int b)
        {
            double d = 0;
            for (int c = 0; c < 3; c++) d += Math.Abs(rgb[a * 3 + c] - rgb[b * 3 + c]);
            return d / 3;
        }
        // The pair (a, a + step) with a + step inside the image; next = whether a + 2·step is.
        void Pair(int a, int step, bool next, int backStep, bool back)
        {
            int b = a + step;
            double d = Diff(a, b);
            bool ra = Regenerated(a), rb = Regenerated(b);
            if (ra == rb)
            {
                if (!ra)
                {
                    kept += d;
                    nKept++;
                }
                return;
            }
            border += d;
            nBorder++;
            // Outward from the region: beyond b when a is regenerated, before a when b is.
            var (from, to, ok) = ra ? (b, b + step, next) : (a, a + backStep, back);
            if (ok && !Regenerated(to))
            {
                band += Diff(from, to);
                nBand++;
            }
        }
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++)
            {
                int i = y * size + x;
                if (x + 1 < size) Pair(i, 1, x + 2 < size, -1, x > 0);
                if (y + 1 < size) Pair(i, size, y + 2 < size, -size, y > 0);
            }
        static double Mean(double sum, long n) => n == 0 ? 0 : sum / n;
        return new SeamMeasure(Mean(border, nBorder), Mean(kept, nKept), Mean(band, nBand));
    }
}
