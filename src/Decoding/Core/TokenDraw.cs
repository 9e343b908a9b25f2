using Var.Decoding.Sampling;

namespace Var.Decoding.Core;

/// <summary>
/// The one draw routine (var.md §3 steps 6.3–6.6): classifier-free guidance on the absolute scale index, per-row
/// top-k/top-p, an optional temperature, the per-row seeded inverse-CDF draw, the optional constraint, and the token
/// embedding (or the gumbel "more smooth" mix for rows that ask for it).
/// </summary>
public static class TokenDraw
{
    /// <summary>
    /// Draws scale <paramref name="si"/> for the session's B rows from logits2BlV (2B, l, V) float32 (conditional rows
    /// first). <paramref name="temperature"/> divides the filtered logits (CoDe §2.2: after top-k/top-p, so it does not
    /// change which tokens survive); 1 = off. Returns tokens (B, l) int64 and embeddings (B, Cvae, pn, pn).
    /// </summary>
    public static (Tensor IdxBl, Tensor HBChw) Draw(DecodingSession session, int si, Tensor logits2BlV, double temperature = 1.0, ITokenConstraint? constraint = null)
    {
        if (!(temperature > 0)) throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "temperature must be > 0");
        using var scope = NewDisposeScope();
        var quantizer = session.Model.Vqvae.Quantizer;
        var codebook = quantizer.Codebook;
        var rows = session.Rows;
        int b = session.Count, sn = session.NumScales, pn = session.PatchNums[si], l = pn * pn;
        long v = logits2BlV.shape[^1];
        double ratio = sn == 1 ? 0 : si / (double)(sn - 1);
        // VAR §3 step 6.3: t = cfg · si/(SN−1) on the absolute scale index; t = 0 at the first scale.
        var t = session.Cfg * ratio;
        var guided = logits2BlV.narrow(0, 0, b) * (t + 1) - logits2BlV.narrow(0, b, b) * t;
        var masked = LogitFilter.Apply(guided, session.TopK, session.TopP);
        if (temperature != 1.0) masked = masked.div(temperature);
        var cdf = masked.softmax(-1).to(ScalarType.Float64).cumsum(-1);
        var u = stack(rows.Select(r => r.Random.Uniforms(l)).ToArray()).to(logits2BlV.device);
        var target = (u * cdf.select(-1, v - 1)).unsqueeze(-1);
        var idxBl = searchsorted(cdf, target).squeeze(-1).clamp_max(v - 1);
        if (constraint is not null) idxBl = constraint.Apply(session, si, idxBl);
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
            h = where(smoothMask, hs, h);
        }
        return (idxBl.MoveToOuterDisposeScope(), h.MoveToOuterDisposeScope());
    }
}
