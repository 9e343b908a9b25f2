using Var.Decoding.Sampling;
using Var.Model;

namespace Var.Decoding.Core;

/// <summary>
/// The one draw routine (var.md §3 steps 6.3–6.6): classifier-free guidance on the absolute scale index, top-k/top-p
/// (per row, or as the plan fixes them for the scale), the temperature, the per-row seeded inverse-CDF draw, the
/// optional constraint, and the token embedding (or the gumbel "more smooth" mix for rows that ask for it).
/// </summary>
public static class TokenDraw
{
    /// <summary>
    /// Guided logits (B, l, V) from logits2BlV (2B, l, V) float32 (conditional rows first): (1 + t)·cond − t·uncond with
    /// t = cfg · si/(K−1) on the absolute scale index (VAR §3 step 6.3; CoDe §2.2: the ramp does not restart).
    /// </summary>
    public static Tensor Guided(DecodingSession session, int si, Tensor logits2BlV, ScaleSampling? scale = null)
    {
        int b = session.Count, sn = session.NumScales;
        double ratio = scale?.GuidanceRatio ?? (sn == 1 ? 0 : si / (double)(sn - 1));
        using var cond = logits2BlV.narrow(0, 0, b);
        using var uncond = logits2BlV.narrow(0, b, b);
        if (scale?.Cfg is { } cfg)
        {
            double tc = cfg * ratio;
            return cond * (tc + 1) - uncond * tc;
        }
        using var scope = NewDisposeScope();
        var t = session.Cfg * ratio;
        return (cond * (t + 1) - uncond * t).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The logits the draw samples from (B, l, V): guided, filtered by top-k then top-p (−inf where removed), then
    /// divided by the temperature (CoDe §2.2: after the filters, so it does not change which tokens survive).
    /// softmax(−1) of it is the sampling distribution.
    /// </summary>
    public static Tensor Filtered(DecodingSession session, int si, Tensor logits2BlV, ScaleSampling? scale = null)
    {
        scale ??= ScaleSampling.RowSettings;
        using var scope = NewDisposeScope();
        var guided = Guided(session, si, logits2BlV, scale);
        return Unguided(session, guided, scale).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// <see cref="Filtered"/> for logits that take no guidance, logitsBlV (B, l, V) of the conditional rows alone
    /// (HMAR's masked steps): top-k then top-p, then the temperature.
    /// </summary>
    public static Tensor Unguided(DecodingSession session, Tensor logitsBlV, ScaleSampling? scale = null)
    {
        scale ??= ScaleSampling.RowSettings;
        using var scope = NewDisposeScope();
        int b = session.Count;
        var topK = scale.TopK is { } k ? full(b, k, dtype: ScalarType.Int64, device: logitsBlV.device) : session.TopK;
        var topP = scale.TopP is { } p ? full(b, (float)p, device: logitsBlV.device) : session.TopP;
        var masked = LogitFilter.Apply(logitsBlV, topK, topP);
        if (scale.Temperature != 1.0) masked = masked.div(scale.Temperature);
        return masked.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The per-row seeded inverse-CDF draw from filtered logits maskedBlV (B, l, V) (<see cref="Filtered"/>): l uniforms
    /// from each row's generator, in row order. Returns tokens (B, l) int64.
    /// </summary>
    public static Tensor Sample(DecodingSession session, Tensor maskedBlV)
    {
        using var scope = NewDisposeScope();
        using var timed = OpProfile.Measure("sampler_draw");
        long l = maskedBlV.shape[1], v = maskedBlV.shape[^1];
        var cdf = maskedBlV.softmax(-1).to(ScalarType.Float64).cumsum(-1);
        var u = stack(session.Rows.Select(r => r.Random.Uniforms(l)).ToArray()).to(maskedBlV.device);
        var target = (u * cdf.select(-1, v - 1)).unsqueeze(-1);
        return searchsorted(cdf, target).squeeze(-1).clamp_max(v - 1).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Draws scale <paramref name="si"/> for the session's B rows from logits2BlV (2B, l, V) float32 (conditional rows
    /// first) with the scale's settings. Returns tokens (B, l) int64 and embeddings (B, Cvae, pn, pn).
    /// </summary>
    public static (Tensor IdxBl, Tensor HBChw) Draw(DecodingSession session, int si, Tensor logits2BlV, ScaleSampling? scale = null, ITokenConstraint? constraint = null)
    {
        using var scope = NewDisposeScope();
        var quantizer = session.Model.Vqvae.Quantizer;
        var codebook = quantizer.Codebook;
        var rows = session.Rows;
        int b = session.Count, sn = session.NumScales, pn = session.PatchNums[si], l = pn * pn;
        long v = logits2BlV.shape[^1];
        double ratio = sn == 1 ? 0 : si / (double)(sn - 1);
        var masked = Filtered(session, si, logits2BlV, scale);
        var idxBl = Sample(session, masked);
        Tensor? forcedBl = null;
        if (constraint is not null) (idxBl, forcedBl) = constraint.Apply(session, si, idxBl);
        var h = quantizer.EmbedTokens(idxBl);
        var smoothRows = rows.Select(r => r.Request.Settings.MoreSmooth).ToArray();
        if (smoothRows.Any(s => s))
        {
            // VAR §3 step 6.6: τ = max(0.27·(1 − 0.95·ratio), 0.005) on the masked logits scaled by (1 + ratio).
            double tau = Math.Max(0.27 * (1 - 0.95 * ratio), 0.005);
            var noise = stack(rows.Select(r => r.Request.Settings.MoreSmooth ? r.Random.Gumbel(l, v) : zeros(l, v)).ToArray()).to(logits2BlV.device);
            var y = (masked * (1 + ratio) + noise).div(tau).softmax(-1).to(codebook.dtype);
            var hs = matmul(y, codebook).transpose(1, 2).reshape(b, quantizer.Channels, pn, pn);
            var smoothMask = tensor(smoothRows, device: logits2BlV.device).view(-1, 1, 1, 1);
            // var.md §5: forced positions take the image's embedding, h = gt·m + h·(1 − m).
            if (forcedBl is not null) smoothMask = smoothMask.logical_and(forcedBl.logical_not().view(b, 1, pn, pn));
            h = where(smoothMask, hs, h);
        }
        return (idxBl.MoveToOuterDisposeScope(), h.MoveToOuterDisposeScope());
    }
}
