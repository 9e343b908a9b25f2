using System.IO.Compression;
using Var.Decoding.Imaging;
using Var.Training.Data;

namespace Var.Cli.Subject;

/// <summary>
/// OpenCV's <c>digits.png</c> (Debian <c>opencv-doc</c>, data.md row G): 2000×1000 grey, 20×20 tiles, 100 tiles a row,
/// 5 rows per digit (tile row / 5 = digit), 500 per digit; read through the image codec (tiles resized to the model's side).
/// </summary>
internal static class DigitSheet
{
    /// <summary>Where Debian installs it.</summary>
    public const string DefaultPath = "/usr/share/doc/opencv-doc/examples/data/digits.png";

    /// <summary>Tile side in the sheet.</summary>
    public const int Tile = 20;

    /// <summary>The 5000 digits as size×size RGB with their digit labels (index order: row by row).</summary>
    public static ImageSet Load(string path, int size)
    {
        string file = File.Exists(path) ? path : File.Exists(path + ".gz") ? path + ".gz" : throw new FileNotFoundException(
            $"{path} not found; install it with: apt-get update && apt-get install -y opencv-doc", path);
        byte[] bytes = File.ReadAllBytes(file);
        if (file.EndsWith(".gz", StringComparison.Ordinal))
        {
            using var gz = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
            using var ms = new MemoryStream();
            gz.CopyTo(ms);
            bytes = ms.ToArray();
        }
        var tiles = ImageCodec.LoadTiles(bytes, Tile, size, file);
        if (tiles.Length != 5000) throw new InvalidDataException($"{file}: {tiles.Length} tiles, expected 5000 (2000×1000 of 20×20)");
        // 100 tiles per row, 5 rows per digit.
        return new ImageSet(tiles, Enumerable.Range(0, tiles.Length).Select(i => i / 100 / 5).ToArray(), size);
    }
}
