using Var.Model.Vqvae;
using Var.Training.Data;

namespace Var.Training.Evaluation;

/// <summary>Tokenizer round-trip quality: PSNR and codebook use.</summary>
/// <param name="PsnrMean">Mean over images of the per-image PSNR over the full 32×32 image on the [0, 1] scale (dB).</param>
/// <param name="PsnrGlobal">10·log10(1 / mean MSE) over all images (dB).</param>
/// <param name="CodebookUsage">Fraction of the codes used at any scale.</param>
/// <param name="Images">Number of images measured.</param>
public sealed record ReconstructionQuality(double PsnrMean, double PsnrGlobal, double CodebookUsage, int Images)
{
    /// <summary>Tokenizes and reconstructs <paramref name="indices"/> of <paramref name="data"/> in eval mode.</summary>
    public static ReconstructionQuality Measure(MultiScaleVqvae vae, FashionMnist data, IReadOnlyList<int> indices, int batchSize = 250)
    {
        bool wasTraining = vae.training;
        vae.eval();
        double psnrSum = 0, mseSum = 0;
        var used = new bool[vae.Config.VocabSize];
        try
        {
            for (int at = 0; at < indices.Count; at += batchSize)
            {
                using var scope = NewDisposeScope();
                using var noGrad = no_grad();
                var idx = indices.Skip(at).Take(batchSize).ToArray();
                var img = data.Batch(idx);
                var tokens = vae.ImageToTokens(img);
                foreach (var t in tokens)
                {
                    foreach (long code in t.flatten().data<long>()) used[code] = true;
                }
                var rec = vae.TokensToImage(tokens);
                // [−1,1] → [0,1] halves the error, so MSE on [0,1] is a quarter of it.
                var msePerImage = (rec - img).square().mean([1, 2, 3]).div(4);
                var psnr = msePerImage.clamp_min(1e-10).log10().mul(-10);
                psnrSum += psnr.sum().item<float>();
                mseSum += msePerImage.sum().item<float>();
            }
        }
        finally
        {
            vae.train(wasTraining);
        }
        int n = indices.Count;
        return new ReconstructionQuality(psnrSum / n, -10 * Math.Log10(mseSum / n), used.Count(u => u) / (double)used.Length, n);
    }

    /// <inheritdoc />
    public override string ToString() => $"PSNR {PsnrMean:F2} dB (global {PsnrGlobal:F2}), codebook use {CodebookUsage:P1} on {Images} test images";
}
