using Var.Model;

namespace Var.Decoding.Scoring;

/// <summary>
/// Teacher-forced scoring: the image is tokenised by the VQVAE, the transformer predicts every scale from the coarser
/// ones under the block-causal mask (var.md §2.6, class dropout off; an HMAR model's next-scale head under its block-diagonal mask), and the cross-entropy of the true tokens is
/// averaged per scale.
/// </summary>
public sealed class LikelihoodScorer(ModelBundle model)
{
    /// <summary>Scores images (B, 3, H, W) in [−1, 1] under classes (one id per image).</summary>
    public IReadOnlyList<LikelihoodScore> Score(Tensor imagesBchw, IReadOnlyList<int> classIds)
    {
        if (imagesBchw.shape[0] != classIds.Count) throw new ArgumentException("one class per image is needed");
        int size = model.ImageSize;
        if (imagesBchw.shape[2] != size || imagesBchw.shape[3] != size)
            throw new ArgumentException($"images must be {size}×{size}, got {imagesBchw.shape[2]}×{imagesBchw.shape[3]}");
        foreach (var c in classIds)
        {
            if (c < 0 || c >= model.NumClasses)
                throw new ArgumentOutOfRangeException(nameof(classIds), c, $"class id must be in 0..{model.NumClasses - 1}");
        }
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        var images = imagesBchw.to(model.Device);
        var idx = model.Vqvae.ImageToTokens(images);
        var input = model.Vqvae.Quantizer.TokensToVarInput(idx);
        var labels = tensor(classIds.Select(c => (long)c).ToArray(), dtype: ScalarType.Int64, device: model.Device);
        // An HMAR default: its next-scale head, teacher-forced with block-diagonal attention (hmar.md §1).
        var hmar = model.Hmar.GetValueOrDefault(model.DefaultTransformer);
        var logits = hmar is not null ? hmar.forward(labels, input) : model.Transformer.forward(labels, input);
        var target = cat(idx, 1);
        var nllBL = logits.log_softmax(-1).gather(-1, target.unsqueeze(-1)).squeeze(-1).neg().to(ScalarType.Float64).cpu();
        var ranges = hmar is not null ? hmar.ScaleRanges : model.Transformer.ScaleRanges;
        var results = new List<LikelihoodScore>();
        for (int i = 0; i < classIds.Count; i++)
        {
            var row = nllBL[i].data<double>().ToArray();
            var perScale = ranges.Select(r => row[r.Begin..r.End].Average()).ToArray();
            results.Add(new LikelihoodScore(perScale, row.Average(), ranges.Select(r => r.End - r.Begin).ToArray()));
        }
        return results;
    }
}
