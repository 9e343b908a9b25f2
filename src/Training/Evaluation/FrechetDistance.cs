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

    private static (Tensor Mean, Tensor Cov) Moments(Tensor xND)
    {
        var x = xND.to(ScalarType.Float64);
        var mu = x.mean([0]);
        var centred = x - mu;
        var cov = centred.t().matmul(centred).div(Math.Max(1, x.shape[0] - 1));
        return (mu, cov);
    }
}
