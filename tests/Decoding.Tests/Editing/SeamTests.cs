using Var.Decoding.Editing;

namespace Var.Decoding.Tests.Editing;

/// <summary><see cref="EditRegion.Seam"/> on images made by hand.</summary>
public class SeamTests
{
    private const int Size = 16;

    private static byte[] Image(Func<int, int, int> value)
    {
        var rgb = new byte[Size * Size * 3];
        for (int y = 0; y < Size; y++)
            for (int x = 0; x < Size; x++)
                for (int c = 0; c < 3; c++) rgb[(y * Size + x) * 3 + c] = (byte)value(x, y);
        return rgb;
    }

    private static float[] Box(int x0, int y0, int x1, int y1)
    {
        var mask = new float[Size * Size];
        for (int y = y0; y < y1; y++)
            for (int x = x0; x < x1; x++) mask[y * Size + x] = 1;
        return mask;
    }

    [Fact]
    public void AnUneditedImageHasItsBorderEqualToTheBandWhileTheWholeKeptRegionDiffers()
    {
        // A horizontal ramp: horizontal neighbours differ by 10, vertical ones not at all. A wide box's border is
        // mostly vertical pairs (its top and bottom), as is its band; the whole kept region has as many of each.
        var seam = EditRegion.Seam(Image((x, _) => 10 * x), Box(3, 6, 13, 10), Size);
        double expected = 10.0 * (2 * 4) / (2 * 4 + 2 * 10);
        Assert.Equal(expected, seam.Border, 9);
        Assert.Equal(expected, seam.Band, 9);
        Assert.True(seam.Kept > 4.5, $"kept {seam.Kept}");
    }

    [Fact]
    public void ARegionOffsetFromItsSurroundingsIsASeam()
    {
        var mask = Box(4, 4, 12, 12);
        var seam = EditRegion.Seam(Image((x, y) => mask[y * Size + x] >= 0.5f ? 150 : 100), mask, Size);
        Assert.Equal(50, seam.Border, 9);
        Assert.Equal(0, seam.Band, 9);
        Assert.Equal(0, seam.Kept, 9);
    }

    [Fact]
    public void TheBandStaysInsideTheImageAndTheKeptRegion()
    {
        // A box touching the left edge and one pixel from the right edge: band pairs exist only where b + d is kept.
        var mask = Box(0, 0, 15, 8);
        var seam = EditRegion.Seam(Image((x, y) => (x * 7 + y * 3) % 256), mask, Size);
        Assert.True(double.IsFinite(seam.Band) && seam.Band >= 0);
        var empty = EditRegion.Seam(Image((_, _) => 0), new float[Size * Size], Size);
        Assert.Equal(new SeamMeasure(0, 0, 0), empty);
    }
}
