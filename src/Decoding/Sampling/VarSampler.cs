using System.Diagnostics;
using Var.Model;

namespace Var.Decoding.Sampling;

/// <summary>
/// The VAR sampler (var.md §3): scale by scale with the KV cache, classifier-free guidance on a doubled batch
/// (conditional rows, then unconditional rows fed the same guided tokens), the linear CFG ramp, per-row top-k/top-p,
/// optional gumbel "more smooth" embeddings, and per-image seeded draws so an image does not depend on its batch.
/// </summary>
public sealed class VarSampler(GenerativeModel model)
{
    /// <summary>The model sampled from.</summary>
    public GenerativeModel Model => model;

    /// <summary>
    /// Generates one image per request. Returns, by request position, the image or null when that request's own token
    /// was cancelled. <paramref name="cancellation"/> aborts the whole batch (OperationCanceledException) at the next
    /// scale. <paramref name="onScale"/> runs synchronously after every scale, on this thread.
    /// </summary>
    public IReadOnlyList<GeneratedImage?> Generate(IReadOnlyList<SampleRequest> requests, CancellationToken cancellation = default, Action<ScaleProgress>? onScale = null)
    {
        if (requests.Count == 0) return [];
        var transformer = model.Transformer;
        var config = transformer.Config;
        foreach (var r in requests)
        {
            if (r.ClassId < 0 || r.ClassId >= config.NumClasses)
                throw new ArgumentOutOfRangeException(nameof(requests), r.ClassId, $"class id must be in 0..{config.NumClasses - 1}");
            r.Settings.Validate();
        }

        var clock = Stopwatch.StartNew();
        var results = new GeneratedImage?[requests.Count];
        var rngs = requests.Select(r => new RowRandom(r.Seed)).ToArray();
        var tokens = requests.Select(_ => new int[config.NumScales][]).ToArray();
        var alive = Enumerable.Range(0, requests.Count).ToList();
        var device = model.Device;
        int sn = config.NumScales, side = config.PatchNums[^1];
        long v = config.VocabSize;
        int tokensTotal = config.TotalTokens, tokensDone = 0;

        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        transformer.EnableKvCache();
        try
        {
            int b = alive.Count;
            var labels = tensor(requests.Select(r => (long)r.ClassId).ToArray(), dtype: ScalarType.Int64, device: device);
            var cond = transformer.ClassEmbedding(cat(new[] { labels, full(b, config.NullClass, dtype: ScalarType.Int64, device: device) }, 0));
            var mods = transformer.BlockModulations(cond);
            var cfgB = tensor(requests.Select(r => (float)r.Settings.Cfg).ToArray(), device: device).view(-1, 1, 1);
            var topKB = tensor(requests.Select(r => (long)r.Settings.TopK).ToArray(), dtype: ScalarType.Int64, device: device);
            var topPB = tensor(requests.Select(r => (float)r.Settings.TopP).ToArray(), device: device);
            var x = transformer.StartInput(cond);
            var codebook = model.Vqvae.Quantizer.Codebook;
            var fHat = zeros(new long[] { b, config.VaeChannels, side, side }, dtype: codebook.dtype, device: device);

            for (int si = 0; si < sn; si++)
            {
                cancellation.ThrowIfCancellationRequested();
                var keepPositions = Enumerable.Range(0, alive.Count).Where(i => !requests[alive[i]].Cancellation.IsCancellationRequested).ToList();
                if (keepPositions.Count < alive.Count)
                {
                    if (keepPositions.Count == 0)
                    {
                        alive.Clear();
                        break;
                    }
                    var keep = tensor(keepPositions.Select(i => (long)i).ToArray(), dtype: ScalarType.Int64, device: device);
                    var keep2 = cat(new[] { keep, keep + alive.Count }, 0);
                    cond = cond.index_select(0, keep2);
                    mods = mods.Select(m => m.index_select(0, keep2)).ToArray();
                    x = x.index_select(0, keep2);
                    fHat = fHat.index_select(0, keep);
                    cfgB = cfgB.index_select(0, keep);
                    topKB = topKB.index_select(0, keep);
                    topPB = topPB.index_select(0, keep);
                    transformer.KeepCachedRows(keep2);
                    alive = keepPositions.Select(i => alive[i]).ToList();
                }
                b = alive.Count;
                int pn = config.PatchNums[si];
                int l = pn * pn;
                double ratio = sn == 1 ? 0 : si / (double)(sn - 1);

                using (var step = NewDisposeScope())
                {
                    var logits = transformer.CachedStep(x, mods, cond);
                    // VAR §3 step 6.3: t = cfg · si/(SN−1); t = 0 at the first scale.
                    var t = cfgB * ratio;
                    var guided = logits.narrow(0, 0, b) * (t + 1) - logits.narrow(0, b, b) * t;
                    var masked = LogitFilter.Apply(guided, topKB, topPB);
                    var cdf = masked.softmax(-1).to(ScalarType.Float64).cumsum(-1);
                    var u = stack(alive.Select(row => rngs[row].Uniforms(l)).ToArray()).to(device);
                    var target = (u * cdf.select(-1, v - 1)).unsqueeze(-1);
                    var idxBl = searchsorted(cdf, target).squeeze(-1).clamp_max(v - 1);
                    var h = model.Vqvae.Quantizer.EmbedTokens(idxBl);
                    var smoothRows = alive.Select(row => requests[row].Settings.MoreSmooth).ToArray();
                    if (smoothRows.Any(s => s))
                    {
                        // VAR §3 step 6.6: τ = max(0.27·(1 − 0.95·ratio), 0.005) on the masked logits scaled by (1 + ratio).
                        double tau = Math.Max(0.27 * (1 - 0.95 * ratio), 0.005);
                        var noise = stack(alive.Select(row => requests[row].Settings.MoreSmooth ? rngs[row].Gumbel(l, v) : zeros(l, v)).ToArray()).to(device);
                        var y = (masked * (1 + ratio) + noise).div(tau).softmax(-1).to(codebook.dtype);
                        var hs = matmul(y, codebook).transpose(1, 2).reshape(b, config.VaeChannels, pn, pn);
                        var smoothMask = tensor(smoothRows, device: device).view(-1, 1, 1, 1);
                        h = where(smoothMask, hs, h);
                    }
                    var newFHat = model.Vqvae.Quantizer.AddScale(si, fHat, h);
                    var idxCpu = idxBl.to(ScalarType.Int32).cpu().data<int>().ToArray();
                    for (int i = 0; i < b; i++) tokens[alive[i]][si] = idxCpu[(i * l)..((i + 1) * l)];
                    tokensDone += l;
                    onScale?.Invoke(new ScaleProgress(si, sn, tokensDone, tokensTotal, clock.Elapsed, alive.ToArray(), newFHat));
                    Tensor? newX = null;
                    if (si < sn - 1)
                    {
                        var next = model.Vqvae.Quantizer.DownToScale(newFHat, si + 1);
                        newX = transformer.ScaleInput(next, si + 1).repeat(2, 1, 1).MoveToOuterDisposeScope();
                    }
                    fHat = newFHat.MoveToOuterDisposeScope();
                    if (newX is not null) x = newX;
                }
            }

            if (alive.Count > 0)
            {
                var img = model.Vqvae.FHatToImage(fHat).add(1).mul(127.5).round().clamp(0, 255).to(ScalarType.Byte);
                var rgb = img.permute(0, 2, 3, 1).contiguous().cpu().data<byte>().ToArray();
                int size = (int)img.shape[2], per = size * size * 3;
                for (int i = 0; i < alive.Count; i++)
                {
                    int row = alive[i];
                    results[row] = new GeneratedImage(requests[row], size, rgb[(i * per)..((i + 1) * per)], tokens[row]);
                }
            }
        }
        finally
        {
            transformer.DisableKvCache();
            foreach (var r in rngs) r.Dispose();
        }
        return results;
    }
}
