namespace Var.Training.Evaluation;

/// <summary>
/// Improved precision and recall in a feature space (Kynkäänniemi et al. 2019, "Improved Precision and Recall Metric
/// for Assessing Generative Models"): each set's manifold is the union of balls around its samples whose radius is the
/// distance to the sample's k-th nearest neighbour in the same set.
/// </summary>
/// <param name="Precision">Share of generated samples inside the real manifold (fidelity).</param>
/// <param name="Recall">Share of real samples inside the generated manifold (coverage, diversity).</param>
public sealed record PrecisionRecall(double Precision, double Recall)
{
    /// <summary>The paper's neighbourhood size (§3: k = 3 is robust across sample sizes).</summary>
    public const int DefaultK = 3;

    /// <summary>
    /// Precision and recall of generated features <paramref name="generatedMD"/> (M, D) against real features
    /// <paramref name="realND"/> (N, D); compared at equal sample sizes (the radii shrink as a set grows).
    /// </summary>
    /// <exception cref="ArgumentException">A set has no more than <paramref name="k"/> samples, or the widths differ.</exception>
    public static PrecisionRecall Compute(Tensor realND, Tensor generatedMD, int k = DefaultK)
    {
        if (realND.shape[0] <= k || generatedMD.shape[0] <= k)
            throw new ArgumentException($"precision/recall with k = {k} needs more than {k} samples per set ({realND.shape[0]} real, {generatedMD.shape[0]} generated)");
        if (realND.shape[1] != generatedMD.shape[1])
            throw new ArgumentException($"feature widths differ: {realND.shape[1]} real, {generatedMD.shape[1]} generated");
        using var scope = NewDisposeScope();
        var real = realND.to(ScalarType.Float64);
        var generated = generatedMD.to(ScalarType.Float64);
        var realRadiiN = KthNeighbourRadii(real, k);
        var generatedRadiiM = KthNeighbourRadii(generated, k);
        var distMN = cdist(generated, real);
        double precision = distMN.le(realRadiiN.unsqueeze(0)).any(1).to(ScalarType.Float64).mean().item<double>();
        double recall = distMN.t().le(generatedRadiiM.unsqueeze(0)).any(1).to(ScalarType.Float64).mean().item<double>();
        return new PrecisionRecall(precision, recall);
    }

    // Distance of every row to its k-th nearest other row: column 0 of the sorted distances is the row itself.
    private static Tensor KthNeighbourRadii(Tensor xND, int k) =>
        cdist(xND, xND).topk(k + 1, dim: 1, largest: false).values.select(1, k);
}
