namespace Var.Training.Data;

/// <summary>
/// An in-memory labelled set of square RGB images (each side×side×3 bytes, already in the model's input form, e.g.
/// decoded with the image codec's resize/crop policy), such as the OpenCV digits used by the subject study.
/// </summary>
public sealed class ImageSet : ILabelledImages
{
    private readonly byte[][] rgbs;
    private readonly int[] labels;

    /// <summary>Wraps images and their class ids (same count; every image side×side×3).</summary>
    public ImageSet(IReadOnlyList<byte[]> rgbs, IReadOnlyList<int> labels, int side)
    {
        if (rgbs.Count != labels.Count) throw new ArgumentException($"{rgbs.Count} images but {labels.Count} labels");
        if (rgbs.Any(r => r.Length != side * side * 3)) throw new ArgumentException($"every image must be {side}×{side} RGB");
        this.rgbs = rgbs.ToArray();
        this.labels = labels.ToArray();
        Side = side;
    }

    /// <summary>Side of the images.</summary>
    public int Side { get; }

    /// <inheritdoc />
    public int Count => labels.Length;

    /// <inheritdoc />
    public int Label(int i) => labels[i];

    /// <summary>The RGB bytes of image <paramref name="i"/>.</summary>
    public byte[] Rgb(int i) => rgbs[i];

    /// <inheritdoc />
    public Tensor Batch(ReadOnlySpan<int> indices)
    {
        int n = Side * Side * 3;
        var buffer = new byte[indices.Length * n];
        for (int b = 0; b < indices.Length; b++) rgbs[indices[b]].CopyTo(buffer, b * n);
        using var scope = NewDisposeScope();
        var x = tensor(buffer, new long[] { indices.Length, Side, Side, 3 }, dtype: ScalarType.Byte)
            .permute(0, 3, 1, 2).to(ScalarType.Float32).div(127.5).sub(1).contiguous();
        return x.MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public Tensor LabelBatch(ReadOnlySpan<int> indices)
    {
        var buffer = new long[indices.Length];
        for (int b = 0; b < indices.Length; b++) buffer[b] = labels[indices[b]];
        return tensor(buffer, dtype: ScalarType.Int64);
    }

    /// <inheritdoc />
    public int[] AllIndices() => Enumerable.Range(0, Count).ToArray();

    /// <summary>The subset <paramref name="indices"/> as a new set.</summary>
    public ImageSet Subset(IEnumerable<int> indices)
    {
        var idx = indices.ToArray();
        return new ImageSet(idx.Select(i => rgbs[i]).ToArray(), idx.Select(i => labels[i]).ToArray(), Side);
    }

    /// <summary>This set followed by <paramref name="other"/>.</summary>
    public ImageSet Concat(ImageSet other) =>
        new(rgbs.Concat(other.rgbs).ToArray(), labels.Concat(other.labels).ToArray(), Side);
}
