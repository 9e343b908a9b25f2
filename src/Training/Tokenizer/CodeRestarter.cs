using Var.Model.Vqvae;
using Var.Training.Optimization;

namespace Var.Training.Tokenizer;

/// <summary>
/// Dead-code restart (calibration.md §1 "codebook care"): codes hit by fewer than 1/64 of a uniform share of the lookups
/// since the last check (about "no hit on 256 images" of the calibration run) are reset to random encoder residual
/// vectors z of the quantizer's own scales plus 1 % noise, and their Adam moments zeroed.
/// </summary>
public sealed class CodeRestarter : IDisposable
{
    private const string CodebookName = "quantize.embedding.weight";
    private readonly Tensor hitsV;

    /// <summary>Creates a restarter for a codebook of <paramref name="vocabSize"/> codes.</summary>
    public CodeRestarter(int vocabSize) => hitsV = zeros(vocabSize, dtype: ScalarType.Int64).DetachFromDisposeScope();

    /// <summary>Hit counts (V,) int64 since the last restart (saved with checkpoints so resumes are exact).</summary>
    public Tensor HitsV => hitsV;

    /// <summary>Adds code hits per scale hitsSV (SN, V) of one training step.</summary>
    public void Accumulate(Tensor hitsSV)
    {
        // sum(dim: 0): a bare literal 0 would bind to the sum(ScalarType) overload (0 converts to any enum).
        using var sum = hitsSV.sum(dim: 0);
        hitsV.add_(sum);
    }

    /// <summary>
    /// Resets every code with no hit since the last call to a residual vector of <paramref name="imagesBchw"/>
    /// (B, 3, H, W) in [−1, 1]; returns the number of codes reset. Uses torch's global generator.
    /// </summary>
    public int Restart(MultiScaleVqvae vae, NamedAdamW optimizer, Tensor imagesBchw)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        long lookups = hitsV.sum().item<long>();
        long threshold = Math.Max(1, lookups / (hitsV.shape[0] * 64));
        var dead = hitsV.lt(threshold).nonzero().squeeze(1);
        int count = (int)dead.shape[0];
        hitsV.zero_();
        if (count == 0) return 0;
        var zNC = ResidualVectors(vae, imagesBchw);
        var pick = randint(0, zNC.shape[0], [count], dtype: ScalarType.Int64);
        var chosen = zNC.index_select(0, pick);
        var fresh = chosen + randn_like(chosen).mul(zNC.std().mul(0.01));
        vae.Quantizer.Codebook.index_copy_(0, dead, fresh);
        optimizer.ResetRows(CodebookName, dead);
        return count;
    }

    /// <summary>The residual vectors z (N, Cvae) every scale of the quantizer looks up, for a batch of images.</summary>
    public static Tensor ResidualVectors(MultiScaleVqvae vae, Tensor imagesBchw)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return vae.Quantizer.ResidualVectors(vae.Encode(imagesBchw)).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public void Dispose() => hitsV.Dispose();
}
