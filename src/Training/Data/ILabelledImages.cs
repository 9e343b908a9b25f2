namespace Var.Training.Data;

/// <summary>A labelled image set in the models' input form: 32×32 RGB images in [−1, 1] with class ids.</summary>
public interface ILabelledImages
{
    /// <summary>Number of images.</summary>
    int Count { get; }

    /// <summary>Class id of image <paramref name="i"/>.</summary>
    int Label(int i);

    /// <summary>Images <paramref name="indices"/> as a float32 tensor (B, 3, 32, 32) in [−1, 1].</summary>
    Tensor Batch(ReadOnlySpan<int> indices);

    /// <summary>Labels of <paramref name="indices"/> as an int64 tensor (B,).</summary>
    Tensor LabelBatch(ReadOnlySpan<int> indices);

    /// <summary>Indices 0..Count−1.</summary>
    int[] AllIndices();
}
