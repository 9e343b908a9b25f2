namespace Var.Training.Subject;

/// <summary>
/// Token maps the frozen base model generated (prior distillation): tokens (N, L) int64 in scale order and their class
/// ids (N,) int64. The caller owns both tensors.
/// </summary>
public sealed record PriorSamples(Tensor TokensNL, Tensor LabelsN)
{
    /// <summary>Number of samples.</summary>
    public int Count => (int)LabelsN.shape[0];

    /// <summary>Samples from per-scale token ids (one int[][] per image, as the sampler returns them) and class ids.</summary>
    public static PriorSamples From(IReadOnlyList<int[][]> tokens, IReadOnlyList<int> labels)
    {
        if (tokens.Count != labels.Count) throw new ArgumentException($"{tokens.Count} token maps but {labels.Count} labels");
        int l = tokens.Count == 0 ? 0 : tokens[0].Sum(s => s.Length);
        var flat = new long[tokens.Count * l];
        for (int i = 0; i < tokens.Count; i++)
        {
            int at = i * l;
            foreach (var scale in tokens[i])
            {
                foreach (var id in scale) flat[at++] = id;
            }
        }
        return new PriorSamples(tensor(flat, new long[] { tokens.Count, l }, dtype: ScalarType.Int64),
            tensor(labels.Select(x => (long)x).ToArray(), dtype: ScalarType.Int64));
    }
}
