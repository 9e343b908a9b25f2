using Var.Model.Classifiers;
using Var.Training.Data;

namespace Var.Training.Evaluation;

/// <summary>
/// One judge's feature space: the judge, its features of the whole test set (computed once) and of the real
/// reference picks already asked for.
/// </summary>
internal sealed class JudgeFeatureSpace : IDisposable
{
    private readonly Dictionary<(string Split, string Key), Tensor> picks = [];

    /// <summary>Wraps <paramref name="judge"/> (put in eval mode) and computes its test-set features.</summary>
    public JudgeFeatureSpace(string role, ImageClassifier judge, FashionMnist test)
    {
        Role = role;
        Judge = judge;
        judge.eval();
        TestFeaturesND = FeaturesOf(test, test.AllIndices()).DetachFromDisposeScope();
    }

    /// <summary>The judge's component role.</summary>
    public string Role { get; }

    /// <summary>The judge.</summary>
    public ImageClassifier Judge { get; }

    /// <summary>Features (N, D) of every test image, in the split's order.</summary>
    public Tensor TestFeaturesND { get; }

    /// <summary>Features (n, D) of a pick of a split, cached under (split, key); owned by this space.</summary>
    public Tensor PickFeatures(string split, string key, FashionMnist data, int[] indices)
    {
        if (picks.TryGetValue((split, key), out var cached)) return cached;
        return picks[(split, key)] = FeaturesOf(data, indices).DetachFromDisposeScope();
    }

    /// <summary>Features (n, D) of <paramref name="indices"/> of a split, in batches of 500, without gradients.</summary>
    public Tensor FeaturesOf(FashionMnist data, int[] indices)
    {
        var parts = new List<Tensor>();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        for (int at = 0; at < indices.Length; at += 500)
            parts.Add(Judge.Features(data.Batch(indices.AsSpan(at, Math.Min(500, indices.Length - at)))));
        return cat(parts, 0).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var t in picks.Values) t.Dispose();
        TestFeaturesND.Dispose();
        Judge.Dispose();
    }
}
