using Var.Decoding.Core;
using Var.Model.Classifiers;

namespace Var.Decoding.Search;

/// <summary>The partial images of a session's rows, decoded from f̂ once per selection (tts-var.md §8.6).</summary>
public sealed class PartialImages(DecodingSession session) : IDisposable
{
    private const long DecodeChunk = 64;
    private Tensor? images;

    /// <summary>Images (B, 3, H, W) in [−1, 1] decoded from the accumulated f̂.</summary>
    public Tensor Get()
    {
        if (images is null)
        {
            using var scope = NewDisposeScope();
            // In chunks: the convolutional decoder is faster per image on moderate batches than on thousands of rows.
            var fHat = session.FHat;
            long n = fHat.shape[0];
            var parts = new List<Tensor>();
            for (long at = 0; at < n; at += DecodeChunk) parts.Add(session.Model.Vqvae.FHatToImage(fHat.narrow(0, at, Math.Min(DecodeChunk, n - at))));
            images = (parts.Count == 1 ? parts[0] : cat(parts.ToArray(), 0)).DetachFromDisposeScope();
        }
        return images;
    }

    /// <inheritdoc />
    public void Dispose() => images?.Dispose();
}

/// <summary>A reward for a session's rows after a scale: higher is better, one value per row.</summary>
public interface ISearchReward
{
    /// <summary>Name in manifests and errors.</summary>
    string Name { get; }

    /// <summary>Rewards of the rows after scale <paramref name="si"/>.</summary>
    double[] Score(DecodingSession session, int si, PartialImages images);
}

/// <summary>Features of a session's rows for clustering, one vector per row.</summary>
public interface ISearchFeatures
{
    /// <summary>Name in manifests and errors.</summary>
    string Name { get; }

    /// <summary>Feature vectors of the rows after scale <paramref name="si"/>.</summary>
    double[][] Features(DecodingSession session, int si, PartialImages images);
}

/// <summary>
/// A classifier of the bundle as the reward: log p(requested class | partial image) (tts-var.md §6, the log form; λ
/// is chosen for it). Rows without a class (the unconditional class) score 0.
/// </summary>
public sealed class ClassifierReward(string role, ImageClassifier classifier) : ISearchReward
{
    /// <inheritdoc />
    public string Name => role;

    /// <inheritdoc />
    public double[] Score(DecodingSession session, int si, PartialImages images)
    {
        using var scope = NewDisposeScope();
        var logp = classifier.forward(images.Get()).log_softmax(-1);
        int classes = (int)logp.shape[1];
        var labels = session.Labels.clamp_max(classes - 1).unsqueeze(1);
        var picked = logp.gather(1, labels).squeeze(1).to(ScalarType.Float64).cpu().data<double>().ToArray();
        for (int i = 0; i < picked.Length; i++)
            if (session.Rows[i].Request.ClassId >= classes) picked[i] = 0;
        return picked;
    }
}

/// <summary>
/// The implicit classifier (issue 11 (b)): the transformer's own log p(tokens | class) − log p(tokens | unconditional)
/// over the scales drawn so far, accumulated by <see cref="ImplicitLikelihoodRecorder"/>; works with any checkpoint.
/// </summary>
public sealed class ImplicitReward : ISearchReward
{
    /// <summary>Its name in requests.</summary>
    public const string RoleName = "implicit";

    /// <inheritdoc />
    public string Name => RoleName;

    /// <inheritdoc />
    public double[] Score(DecodingSession session, int si, PartialImages images) => session.Rows.Select(r => r.Scores.LogRatio).ToArray();
}

/// <summary>
/// Per-image structure maps (tts-var.md §6 "features"): the first principal component of a spatial feature map's
/// locations (centred over locations), as a vector over the locations, its sign fixed so the entry of largest
/// magnitude is positive (§8.5), scaled by its singular value.
/// </summary>
public sealed class StructureFeatures(string name, Func<DecodingSession, PartialImages, Tensor> map) : ISearchFeatures
{
    /// <summary>The bundle classifier's last spatial map of the partial image.</summary>
    public static StructureFeatures FromClassifier(string role, ImageClassifier classifier) =>
        new(role, (_, images) => classifier.SpatialFeatures(images.Get()));

    /// <summary>The latent f̂ itself (no network): works with official checkpoints.</summary>
    public static StructureFeatures Latent() => new("latent", (session, _) => session.FHat.clone());

    /// <inheritdoc />
    public string Name => name;

    /// <inheritdoc />
    public double[][] Features(DecodingSession session, int si, PartialImages images)
    {
        using var scope = NewDisposeScope();
        var m = map(session, images).to(ScalarType.Float64);
        long b = m.shape[0], c = m.shape[1];
        var x = m.reshape(b, c, -1).transpose(1, 2); // (B, locations, C)
        x = x - x.mean(new long[] { 1 }, keepdim: true);
        var (u, s, _) = linalg.svd(x, fullMatrices: false);
        var pc = u.select(2, 0) * s.select(1, 0).unsqueeze(1); // (B, locations)
        var sign = pc.gather(1, pc.abs().argmax(1, keepdim: true)).sign();
        sign = where(sign.eq(0), ones_like(sign), sign);
        pc = pc * sign;
        var flat = pc.contiguous().cpu().data<double>().ToArray();
        int d = (int)pc.shape[1];
        return Enumerable.Range(0, (int)b).Select(i => flat[(i * d)..((i + 1) * d)]).ToArray();
    }
}

/// <summary>
/// Accumulates the implicit classifier: wraps a plan's steps to keep the scale's logits and, after the draw, adds
/// Σ log softmax(cond)[token] − log softmax(uncond)[token] to each row's <see cref="RowScores.LogRatio"/>.
/// </summary>
public sealed class ImplicitLikelihoodRecorder : IScaleHook
{
    private Tensor? logits;

    /// <summary>The step wrapped so that its logits are kept for this recorder.</summary>
    public IScaleStep Wrap(IScaleStep inner) => new Recording(inner, this);

    /// <inheritdoc />
    public void AfterScale(DecodingSession session, int si)
    {
        if (logits is null) return;
        using var scope = NewDisposeScope();
        int b = session.Count;
        var logp = logits.log_softmax(-1);
        var idx = tensor(session.Rows.SelectMany(r => r.Tokens[si]).Select(t => (long)t).ToArray(), dtype: ScalarType.Int64, device: logp.device)
            .view(b, -1, 1);
        var cond = logp.narrow(0, 0, b).gather(2, idx).sum(new long[] { 1, 2 });
        var uncond = logp.narrow(0, b, b).gather(2, idx).sum(new long[] { 1, 2 });
        var ratio = (cond - uncond).to(ScalarType.Float64).cpu().data<double>().ToArray();
        for (int i = 0; i < b; i++) session.Rows[i].Scores.LogRatio += ratio[i];
        logits.Dispose();
        logits = null;
    }

    private sealed class Recording(IScaleStep inner, ImplicitLikelihoodRecorder recorder) : IScaleStep
    {
        public Tensor Logits(DecodingSession session, int si)
        {
            var result = inner.Logits(session, si);
            recorder.logits?.Dispose();
            recorder.logits = result.detach().DetachFromDisposeScope();
            return result;
        }
    }
}
