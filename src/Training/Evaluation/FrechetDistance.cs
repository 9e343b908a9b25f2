namespace Var.Training.Evaluation;

/// <summary>
/// Fréchet distance between Gaussians fitted to two feature sets:
/// ‖μ₁ − μ₂‖² + tr Σ₁ + tr Σ₂ − 2 tr (Σ₁^½ Σ₂ Σ₁^½)^½, computed in float64 with symmetric eigendecompositions.
/// </summary>
public static class FrechetDistance
{
    /// <summary>FD between features aND (N, D) and bMD (M, D).</summary>
    public static double Compute(Tensor aND, Tensor bMD)
    {
        using var scope = NewDisposeScope();
        var (muA, covA) = Moments(aND);
        var (muB, covB) = Moments(bMD);
        double meanTerm = (muA - muB).square().sum().item<double>();
        var (wA, vA) = linalg.eigh(covA);
        var sqrtA = vA.matmul(diag(wA.clamp_min(0).sqrt())).matmul(vA.t());
        var m = sqrtA.matmul(covB).matmul(sqrtA);
        m = (m + m.t()).mul(0.5);
        double traceSqrt = linalg.eigvalsh(m).clamp_min(0).sqrt().sum().item<double>();
        return meanTerm + covA.trace().item<double>() + covB.trace().item<double>() - 2 * traceSqrt;
    }

    /// <summary>
    /// FD per class: features aND (N, D) with labels <paramref name="aLabels"/> (N) against features bMD (M, D) with
    /// labels <paramref name="bLabels"/> (M), class by class; NaN for a class with fewer than two samples on a side.
    /// </summary>
    /// <returns>One distance per class id 0 … <paramref name="numClasses"/> − 1.</returns>
    public static double[] PerClass(Tensor aND, IReadOnlyList<int> aLabels, Tensor bMD, IReadOnlyList<int> bLabels, int numClasses)
    {
        if (aND.shape[0] != aLabels.Count || bMD.shape[0] != bLabels.Count)
            throw new ArgumentException($"{aND.shape[0]} and {bMD.shape[0]} feature rows but {aLabels.Count} and {bLabels.Count} labels");
        var result = new double[numClasses];
        for (int c = 0; c < numClasses; c++)
        {
            using var scope = NewDisposeScope();
            var a = Rows(aND, aLabels, c);
            var b = Rows(bMD, bLabels, c);
            result[c] = a is null || b is null ? double.NaN : Compute(a, b);
        }
        return result;
    }

    private static Tensor? Rows(Tensor xND, IReadOnlyList<int> labels, int c)
    {
        var rows = Enumerable.Range(0, labels.Count).Where(i => labels[i] == c).Select(i => (long)i).ToArray();
        return rows.Length < 2 ? null : xND.index_select(0, tensor(rows));
    }

    private static (Tensor Mean, Tensor Cov) Moments(Tensor xND)
    {
        var x = xND.to(ScalarType.Float64);
        var mu = x.mean([0]);
        var centred = x - mu;
        var cov = centred.t().matmul(centred).div(Math.Max(1, x.shape[0] - 1));
        return (mu, cov);
    }
}
