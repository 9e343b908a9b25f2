using System.IO.Compression;

namespace Var.Training.Data;

/// <summary>
/// One split of Fashion-MNIST held in memory as raw 28×28 grey bytes and labels, read from the IDX (gzip) files of
/// the Debian package <c>dataset-fashion-mnist</c>. <see cref="Batch"/> turns rows into the project's 32×32 RGB images.
/// </summary>
public sealed class FashionMnist : ILabelledImages
{
    /// <summary>Where the Debian package installs the files.</summary>
    public const string DefaultDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>Side of the original images.</summary>
    public const int SourceSide = 28;

    /// <summary>Side of the images the models see: the original centred with a 2-pixel black border.</summary>
    public const int ImageSide = 32;

    private const int Border = (ImageSide - SourceSide) / 2;

    private readonly byte[] pixels;
    private readonly byte[] labels;

    private FashionMnist(byte[] pixels, byte[] labels, string split)
    {
        this.pixels = pixels;
        this.labels = labels;
        Split = split;
    }

    /// <summary>"train" or "test".</summary>
    public string Split { get; }

    /// <summary>Number of images.</summary>
    public int Count => labels.Length;

    /// <summary>Class id of image <paramref name="i"/>.</summary>
    public int Label(int i) => labels[i];

    /// <summary>All labels.</summary>
    public ReadOnlySpan<byte> Labels => labels;

    /// <summary>The directory from the argument, the VAR_FMNIST_DIR environment variable, or <see cref="DefaultDirectory"/>.</summary>
    public static string ResolveDirectory(string? directory) =>
        directory ?? Environment.GetEnvironmentVariable("VAR_FMNIST_DIR") ?? DefaultDirectory;

    /// <summary>True when both splits exist in <paramref name="directory"/> (null = default).</summary>
    public static bool IsAvailable(string? directory = null)
    {
        string dir = ResolveDirectory(directory);
        return new[] { "train", "t10k" }.All(p => File.Exists(Path.Combine(dir, $"{p}-images-idx3-ubyte.gz"))
            && File.Exists(Path.Combine(dir, $"{p}-labels-idx1-ubyte.gz")));
    }

    /// <summary>Loads the "train" (60 000) or "test" (10 000) split.</summary>
    /// <exception cref="FileNotFoundException">The files are absent; the message says how to install them.</exception>
    public static FashionMnist Load(string split, string? directory = null)
    {
        string dir = ResolveDirectory(directory);
        string prefix = split switch
        {
            "train" => "train",
            "test" => "t10k",
            _ => throw new ArgumentException($"unknown split '{split}' (train or test)", nameof(split)),
        };
        string imagesPath = Path.Combine(dir, $"{prefix}-images-idx3-ubyte.gz");
        string labelsPath = Path.Combine(dir, $"{prefix}-labels-idx1-ubyte.gz");
        if (!File.Exists(imagesPath) || !File.Exists(labelsPath))
        {
            throw new FileNotFoundException(
                $"Fashion-MNIST not found in {dir} (missing {Path.GetFileName(imagesPath)} or {Path.GetFileName(labelsPath)}); " +
                "install it with: apt-get update && apt-get install -y dataset-fashion-mnist", imagesPath);
        }
        var images = ReadIdx(imagesPath, expectedMagic: 0x803, out int[] imageDims);
        var labelBytes = ReadIdx(labelsPath, expectedMagic: 0x801, out int[] labelDims);
        if (imageDims.Length != 3 || imageDims[1] != SourceSide || imageDims[2] != SourceSide || labelDims[0] != imageDims[0])
            throw new InvalidDataException($"unexpected IDX shapes [{string.Join(",", imageDims)}] / [{string.Join(",", labelDims)}] in {dir}");
        return new FashionMnist(images, labelBytes, split);
    }

    /// <summary>
    /// Images <paramref name="indices"/> as a float32 tensor (B, 3, 32, 32) in [−1, 1]: the 28×28 grey original centred
    /// in a black (−1) 32×32 frame and copied to the three channels.
    /// </summary>
    public Tensor Batch(ReadOnlySpan<int> indices)
    {
        int b = indices.Length;
        var buffer = new float[b * ImageSide * ImageSide];
        Array.Fill(buffer, -1f);
        for (int n = 0; n < b; n++)
        {
            int src = indices[n] * SourceSide * SourceSide;
            int dst = n * ImageSide * ImageSide;
            for (int y = 0; y < SourceSide; y++)
            {
                int row = dst + (y + Border) * ImageSide + Border;
                for (int x = 0; x < SourceSide; x++) buffer[row + x] = pixels[src + y * SourceSide + x] / 127.5f - 1f;
            }
        }
        using var grey = tensor(buffer, new long[] { b, 1, ImageSide, ImageSide }, dtype: ScalarType.Float32);
        return grey.expand(b, 3, ImageSide, ImageSide).contiguous();
    }

    /// <summary>Labels of <paramref name="indices"/> as an int64 tensor (B,).</summary>
    public Tensor LabelBatch(ReadOnlySpan<int> indices)
    {
        var buffer = new long[indices.Length];
        for (int n = 0; n < indices.Length; n++) buffer[n] = labels[indices[n]];
        return tensor(buffer, dtype: ScalarType.Int64);
    }

    /// <summary>Indices 0..Count−1.</summary>
    public int[] AllIndices() => Enumerable.Range(0, Count).ToArray();

    /// <summary>
    /// A class-balanced subset: the first <paramref name="perClass"/> images of every class in a seeded shuffle.
    /// </summary>
    public int[] BalancedSubset(int perClass, int seed)
    {
        var order = AllIndices();
        new Random(seed).Shuffle(order);
        var taken = new int[FashionMnistClasses.Count];
        var result = new List<int>();
        foreach (int i in order)
        {
            if (taken[labels[i]] >= perClass) continue;
            taken[labels[i]]++;
            result.Add(i);
        }
        return result.ToArray();
    }

    private static byte[] ReadIdx(string path, int expectedMagic, out int[] dims)
    {
        using var file = File.OpenRead(path);
        using var gz = new GZipStream(file, CompressionMode.Decompress);
        using var ms = new MemoryStream();
        gz.CopyTo(ms);
        var data = ms.ToArray();
        int magic = ReadBigEndian(data, 0);
        if (magic != expectedMagic) throw new InvalidDataException($"{path}: IDX magic 0x{magic:x}, expected 0x{expectedMagic:x}");
        int rank = magic & 0xff;
        dims = new int[rank];
        long count = 1;
        for (int i = 0; i < rank; i++)
        {
            dims[i] = ReadBigEndian(data, 4 + 4 * i);
            count *= dims[i];
        }
        int offset = 4 + 4 * rank;
        if (data.Length - offset != count) throw new InvalidDataException($"{path}: {data.Length - offset} bytes of data, expected {count}");
        return data[offset..];
    }

    private static int ReadBigEndian(byte[] data, int at) =>
        (data[at] << 24) | (data[at + 1] << 16) | (data[at + 2] << 8) | data[at + 3];
}
