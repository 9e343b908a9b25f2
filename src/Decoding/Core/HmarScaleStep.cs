using Var.Model.Transformer;

namespace Var.Decoding.Core;

/// <summary>
/// HMAR's step for one scale (hmar.md §3), with no KV cache: the scale's tokens attend only to themselves.
/// <see cref="Logits"/> is the next-scale pass (trunk + next-scale tail) on the scale's input, the class embedding for
/// scale 0 and the area-downsampled f̂ after. <see cref="Draw"/> draws every token, then, where the schedule has more
/// than one pass, masks the lowest-confidence ones (the probability of the sampled token under the filtered logits)
/// and re-predicts them with the masked tail, unguided, keeping masked after each step the least confident of those
/// still masked. The reference guides masked steps with t = cfg·1e-6, which moves a logit by 1.5e-6 of the
/// conditional–unconditional gap (≪ the 1e-4 parity tolerance); here they run the conditional rows alone, half the
/// work. Tokens a constraint forces (editing) are never masked. Every pass but a scale's last is reported to the
/// plan's hooks (<see cref="DecodingSession.ReportPass"/>).
/// </summary>
/// <param name="hmar">The HMAR transformer.</param>
/// <param name="tokensPerPass">Per scale, the tokens fixed by each pass (the first is the next-scale pass).</param>
/// <param name="onMaskedStep">Called after every masked step (progress within a scale, diagnostics); its tensors live only during the call.</param>
public sealed class HmarScaleStep(HmarTransformer hmar, IReadOnlyList<int[]> tokensPerPass, Action<HmarMaskedStep>? onMaskedStep = null) : IScaleStep
{
    /// <summary>The transformer.</summary>
    public HmarTransformer Transformer => hmar;

    /// <inheritdoc />
    public Tensor Logits(DecodingSession session, int si)
    {
        using var scope = NewDisposeScope();
        var (cond, mods) = Condition(session);
        var x = si == 0 ? hmar.StartInput(cond) : hmar.ScaleInput(session.NextInput, si).repeat(2, 1, 1);
        return hmar.ScaleLogits(x, mods, cond, HmarTransformer.Head.NextScale).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public (Tensor IdxBl, Tensor HBChw) Draw(DecodingSession session, int si, Tensor logits2BlV, ScaleSampling scale, ITokenConstraint? constraint)
    {
        var passes = tokensPerPass[si];
        int l = session.PatchNums[si] * session.PatchNums[si];
        if (passes.Length <= 1 || l == 1) return TokenDraw.Draw(session, si, logits2BlV, scale, constraint);
        using var scope = NewDisposeScope();
        var quantizer = session.Model.Vqvae.Quantizer;
        var filtered = TokenDraw.Filtered(session, si, logits2BlV, scale);
        var idx = TokenDraw.Sample(session, filtered);
        Tensor? forced = null;
        if (constraint is not null) (idx, forced) = constraint.Apply(session, si, idx);
        var free = forced is null ? ones(idx.shape, dtype: ScalarType.Bool, device: idx.device) : forced.logical_not();
        var masked = LeastConfident(Confidence(filtered, idx), free, passes.Skip(1).Sum());
        // The conditional half of the conditioning (views of the session's 2B rows).
        var (cond2B, mods2B) = Condition(session);
        int b = session.Count;
        var cond = cond2B.narrow(0, 0, b);
        var mods = mods2B.Select(m => m.narrow(0, 0, b)).ToArray();
        session.ReportPass(1, passes.Length, passes[0]);
        for (int j = 1; j < passes.Length; j++)
        {
            var own = quantizer.OwnScaleInput(si, idx);
            var x = hmar.MaskedInput(session.NextInput, own, masked, si);
            var stepLogits = hmar.ScaleLogits(x, mods, cond, HmarTransformer.Head.Masked);
            session.CountPass(l);
            var stepFiltered = TokenDraw.Unguided(session, stepLogits, scale);
            var drawn = TokenDraw.Sample(session, stepFiltered);
            // The constraint sees every draw; its forced positions are never masked, so only masked ones change here.
            if (constraint is not null) drawn = constraint.Apply(session, si, drawn).IdxBl;
            onMaskedStep?.Invoke(new HmarMaskedStep(session, si, j, passes.Length, masked, x, stepLogits));
            idx = where(masked, drawn, idx);
            if (j < passes.Length - 1)
            {
                masked = LeastConfident(Confidence(stepFiltered, idx), masked, passes.Skip(j + 1).Sum());
                session.ReportPass(j + 1, passes.Length, passes.Take(j + 1).Sum());
            }
        }
        return (idx.MoveToOuterDisposeScope(), quantizer.EmbedTokens(idx).MoveToOuterDisposeScope());
    }

    /// <summary>
    /// The re-masking rule (hmar.md §3 step 4): per row, the <paramref name="count"/> positions of lowest confidence
    /// confBl (B, l) among the candidates candidatesBl (B, l) bool (fewer where a row has fewer candidates). Returns
    /// (B, l) bool.
    /// </summary>
    public static Tensor LeastConfident(Tensor confBl, Tensor candidatesBl, int count)
    {
        using var scope = NewDisposeScope();
        var conf = confBl.to(ScalarType.Float64).masked_fill(candidatesBl.logical_not(), double.PositiveInfinity);
        var (_, order) = conf.sort(-1, descending: false, stable: true);
        var n = Math.Min(count, (int)confBl.shape[1]);
        var pick = order.narrow(1, 0, n);
        var chosen = zeros_like(candidatesBl).scatter_(1, pick, ones_like(pick, dtype: ScalarType.Bool));
        return chosen.logical_and_(candidatesBl).MoveToOuterDisposeScope();
    }

    /// <summary>The sampling probability of each drawn token: softmax(filtered)[idx], (B, l).</summary>
    public static Tensor Confidence(Tensor filteredBlV, Tensor idxBl)
    {
        using var p = filteredBlV.softmax(-1);
        return p.gather(-1, idxBl.unsqueeze(-1)).squeeze(-1);
    }

    private (Tensor Cond, Tensor[] Mods) Condition(DecodingSession session)
    {
        // No KV cache: the class conditioning (2B rows, the unconditional after the conditional) is all this step keeps,
        // once per session as its StepState (the session frees it when its rows change).
        if (session.StepState is Conditioning kept && ReferenceEquals(kept.Owner, hmar)) return (kept.Cond, kept.Mods);
        using var scope = NewDisposeScope();
        var labels2B = cat(new[] { session.Labels, full(session.Count, hmar.Backbone.NullClass, dtype: ScalarType.Int64, device: session.Labels.device) }, 0);
        var cond = hmar.ClassEmbedding(labels2B);
        var state = new Conditioning(hmar, cond.DetachFromDisposeScope(), hmar.BlockModulations(cond).Select(m => m.DetachFromDisposeScope()).ToArray());
        session.StepState = state;
        return (state.Cond, state.Mods);
    }

    private sealed class Conditioning(HmarTransformer owner, Tensor cond, Tensor[] mods) : IDisposable
    {
        public HmarTransformer Owner => owner;

        public Tensor Cond => cond;

        public Tensor[] Mods => mods;

        public void Dispose()
        {
            cond.Dispose();
            foreach (var m in mods) m.Dispose();
        }
    }
}

/// <summary>
/// One masked step of scale <paramref name="Scale"/>: pass <paramref name="Pass"/> of <paramref name="Passes"/> (the
/// next-scale pass is pass 0), which positions were masked (B, pn²) bool, the masked input (B, pn², C) and the mask
/// head's logits (B, pn², V), of the conditional rows (masked steps take no guidance).
/// </summary>
public sealed record HmarMaskedStep(DecodingSession Session, int Scale, int Pass, int Passes, Tensor MaskedBl, Tensor InputBlC, Tensor LogitsBlV);
