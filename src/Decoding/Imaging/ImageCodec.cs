using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace Var.Decoding.Imaging;

/// <summary>
/// The one image codec wrapper: RGB byte buffers (H, W, 3) row-major ⇄ PNG/JPEG, and images ⇄ model tensors.
/// Input policy: an image of the model's size is used as is; otherwise its shorter side is resized to the model's
/// size (bicubic) and the centre is cropped. Alpha is dropped (composited on black). Only PNG and JPEG are decoded
/// (ImageSharp's other decoders have had crafted-image advisories), and an input's size is checked with
/// <c>Image.Identify</c> before any pixel buffer is allocated.
/// </summary>
public static class ImageCodec
{
    /// <summary>Largest input accepted, in pixels (a decompression bomb is refused before it is decoded).</summary>
    public const long MaxInputPixels = 16L * 1024 * 1024;

    // Only the PNG and JPEG codecs are registered.
    private static readonly Configuration Decoders = new(new PngConfigurationModule(), new JpegConfigurationModule());

    private static Image<Rgba32> Decode(byte[] encoded, string what)
    {
        try
        {
            IImageInfo? info;
            using (var stream = new MemoryStream(encoded, writable: false)) info = Image.Identify(Decoders, stream);
            if (info is null) throw new ArgumentException($"{what}: not a PNG or JPEG image");
            if ((long)info.Width * info.Height > MaxInputPixels)
                throw new ArgumentException($"{what}: {info.Width}×{info.Height} exceeds the limit of {MaxInputPixels / (1024 * 1024)} M pixels");
            return Image.Load<Rgba32>(Decoders, encoded);
        }
        catch (Exception e) when (e is UnknownImageFormatException or InvalidImageContentException or NotSupportedException or ImageFormatException)
        {
            throw new ArgumentException($"{what}: not a readable PNG or JPEG image ({e.Message})", e);
        }
    }

    /// <summary>
    /// Decodes a mask (PNG/JPEG, any size, resized bilinearly to size×size) to size×size values, 1 = regenerate:
    /// white pixels (luma ≥ 50 %) and transparent ones (alpha &lt; 50 %) are regenerated, black ones kept.
    /// </summary>
    public static float[] LoadMask(byte[] encoded, int size, string what = "mask")
    {
        using var image = Decode(encoded, what);
        if (image.Width != size || image.Height != size) image.Mutate(c => c.Resize(size, size, KnownResamplers.Triangle));
        var rgba = new byte[size * size * 4];
        image.CopyPixelDataTo(rgba);
        var mask = new float[size * size];
        for (int i = 0; i < mask.Length; i++)
        {
            double luma = (0.299 * rgba[4 * i] + 0.587 * rgba[4 * i + 1] + 0.114 * rgba[4 * i + 2]) / 255;
            mask[i] = luma >= 0.5 || rgba[4 * i + 3] < 128 ? 1 : 0;
        }
        return mask;
    }
    /// <summary>PNG bytes of an RGB buffer.</summary>
    public static byte[] EncodePng(byte[] rgb, int width, int height)
    {
        using var image = Image.LoadPixelData<Rgb24>(rgb, width, height);
        using var ms = new MemoryStream();
        image.SaveAsPng(ms, new PngEncoder { ColorType = PngColorType.Rgb });
        return ms.ToArray();
    }

    /// <summary>JPEG bytes of an RGB buffer at <paramref name="quality"/> (1–100).</summary>
    public static byte[] EncodeJpeg(byte[] rgb, int width, int height, int quality)
    {
        using var image = Image.LoadPixelData<Rgb24>(rgb, width, height);
        using var ms = new MemoryStream();
        image.SaveAsJpeg(ms, new JpegEncoder { Quality = Math.Clamp(quality, 1, 100) });
        return ms.ToArray();
    }

    /// <summary>Writes an RGB buffer as PNG, atomically (temp file + rename).</summary>
    public static void SavePng(string path, byte[] rgb, int width, int height)
    {
        var tmp = path + ".tmp";
        File.WriteAllBytes(tmp, EncodePng(rgb, width, height));
        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>Decodes an image file or bytes to a size×size RGB buffer using the documented resize/crop policy.</summary>
    public static byte[] LoadRgb(byte[] encoded, int size, string what = "image")
    {
        using var image = Decode(encoded, what);
        return Fit(image, size);
    }

    /// <summary>
    /// Decodes a sheet of equal square tiles (e.g. OpenCV's digits.png, 20×20 tiles) and returns each tile, row by row,
    /// as a size×size RGB buffer under the same resize/crop policy as <see cref="LoadRgb(byte[], int, string)"/>.
    /// </summary>
    public static byte[][] LoadTiles(byte[] encoded, int tile, int size, string what = "image")
    {
        using var sheet = Decode(encoded, what);
        if (tile < 1 || sheet.Width % tile != 0 || sheet.Height % tile != 0)
            throw new ArgumentException($"{what}: {sheet.Width}×{sheet.Height} is not a whole number of {tile}×{tile} tiles");
        var tiles = new List<byte[]>();
        for (int y = 0; y < sheet.Height; y += tile)
        {
            for (int x = 0; x < sheet.Width; x += tile)
            {
                using var one = sheet.Clone(c => c.Crop(new Rectangle(x, y, tile, tile)));
                tiles.Add(Fit(one, size));
            }
        }
        return tiles.ToArray();
    }

    private static byte[] Fit(Image<Rgba32> image, int size)
    {
        if (image.Width != size || image.Height != size)
        {
            double scale = (double)size / Math.Min(image.Width, image.Height);
            int w = Math.Max(size, (int)Math.Round(image.Width * scale)), h = Math.Max(size, (int)Math.Round(image.Height * scale));
            image.Mutate(c => c.Resize(w, h, KnownResamplers.Bicubic).Crop(new Rectangle((w - size) / 2, (h - size) / 2, size, size)));
        }
        var rgba = new byte[size * size * 4];
        image.CopyPixelDataTo(rgba);
        var rgb = new byte[size * size * 3];
        for (int i = 0, j = 0; i < rgba.Length; i += 4, j += 3)
        {
            int a = rgba[i + 3];
            rgb[j] = (byte)(rgba[i] * a / 255);
            rgb[j + 1] = (byte)(rgba[i + 1] * a / 255);
            rgb[j + 2] = (byte)(rgba[i + 2] * a / 255);
        }
        return rgb;
    }

    /// <summary>Reads an image file (see <see cref="LoadRgb(byte[], int, string)"/>).</summary>
    public static byte[] LoadRgb(string path, int size)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"image not found: {path}", path);
        return LoadRgb(File.ReadAllBytes(path), size, path);
    }

    /// <summary>RGB buffers (each size×size×3) → tensor (B, 3, size, size) in [−1, 1] on <paramref name="device"/>.</summary>
    public static Tensor ToTensor(IReadOnlyList<byte[]> rgbs, int size, Device device)
    {
        using var scope = NewDisposeScope();
        var all = rgbs.SelectMany(b => b).ToArray();
        var t = tensor(all, dtype: ScalarType.Byte).view(rgbs.Count, size, size, 3).permute(0, 3, 1, 2)
            .to(ScalarType.Float32).div(127.5).sub(1);
        return t.to(device).MoveToOuterDisposeScope();
    }

    /// <summary>Tensor (B, 3, H, W) in [−1, 1] → one RGB buffer per image (round to nearest).</summary>
    public static byte[][] FromTensor(Tensor imagesBchw)
    {
        using var scope = NewDisposeScope();
        long b = imagesBchw.shape[0], h = imagesBchw.shape[2], w = imagesBchw.shape[3];
        var bytes = imagesBchw.detach().to(ScalarType.Float32).add(1).mul(127.5).round().clamp(0, 255).to(ScalarType.Byte)
            .permute(0, 2, 3, 1).contiguous().cpu().data<byte>().ToArray();
        long per = h * w * 3;
        return Enumerable.Range(0, (int)b).Select(i => bytes[(int)(i * per)..(int)((i + 1) * per)]).ToArray();
    }

    /// <summary>Tiles equally sized RGB images into a grid with <paramref name="columns"/> columns and a gap.</summary>
    public static (byte[] Rgb, int Width, int Height) Grid(IReadOnlyList<byte[]> images, int size, int columns, int gap = 2)
    {
        int rows = (images.Count + columns - 1) / columns;
        int width = columns * size + (columns + 1) * gap, height = rows * size + (rows + 1) * gap;
        var grid = new byte[width * height * 3];
        Array.Fill(grid, (byte)255);
        for (int n = 0; n < images.Count; n++)
        {
            int x0 = gap + (n % columns) * (size + gap), y0 = gap + (n / columns) * (size + gap);
            for (int y = 0; y < size; y++)
                Array.Copy(images[n], y * size * 3, grid, ((y0 + y) * width + x0) * 3, size * 3);
        }
        return (grid, width, height);
    }

    /// <summary>PSNR in dB of two equally sized RGB buffers on the [0, 1] scale.</summary>
    public static double Psnr(byte[] a, byte[] b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double d = (a[i] - b[i]) / 255.0;
            sum += d * d;
        }
        double mse = sum / a.Length;
        return mse == 0 ? double.PositiveInfinity : 10 * Math.Log10(1 / mse);
    }
}
