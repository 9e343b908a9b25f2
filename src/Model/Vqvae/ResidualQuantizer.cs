namespace Var.Model.Vqvae;

/// <summary>
/// Multi-scale residual vector quantizer with one codebook shared by all scales and φ convolutions that are
/// non-shared, shared, or partially shared (var.md §1.5, <c>VectorQuantizer2</c>). Layouts: f and f̂ are
/// (B, Cvae, H, W) with H = W = the last patch num; token ids per scale are (B, pn²) int64, row-major.
/// </summary>
public sealed class ResidualQuantizer : nn.Module
{
    private readonly Embedding embedding;
    private readonly nn.Module quant_resi;
    private readonly Tensor ema_vocab_hit_SV;
    private readonly Phi[] phis;
    private readonly int[] phiIndexOfScale;

    /// <summary>Scale schedule (token-map sides).</summary>
    public int[] PatchNums { get; }

    /// <summary>Codebook size.</summary>
    public int VocabSize { get; }

    /// <summary>Latent channels.</summary>
    public int Channels { get; }

    /// <summary>Builds the quantizer for <paramref name="config"/>.</summary>
    public ResidualQuantizer(VqvaeConfig config) : base(nameof(ResidualQuantizer))
    {
        PatchNums = config.PatchNums.ToArray();
        VocabSize = config.VocabSize;
        Channels = config.ZChannels;
        embedding = nn.Embedding(config.VocabSize, config.ZChannels);
        int count = config.PhiCount;
        phis = Enumerable.Range(0, count).Select(_ => new Phi(config.ZChannels, config.QuantResi)).ToArray();
        quant_resi = count == 1 && config.ShareQuantResi == 1
            ? new SharedPhiHolder(phis[0])
            : config.ShareQuantResi == 0 ? nn.ModuleList(phis) : new PartiallySharedPhiHolder(phis);
        ema_vocab_hit_SV = zeros(config.NumScales, config.VocabSize);
        phiIndexOfScale = Enumerable.Range(0, config.NumScales)
            .Select(si => config.ShareQuantResi == 0 ? si : PhiIndex(si, config.NumScales, count)).ToArray();
        RegisterComponents();
    }

    /// <summary>The codebook weight (V, Cvae).</summary>
    public Parameter Codebook => embedding.weight!;

    /// <summary>Index of the φ used at scale <paramref name="si"/> of <paramref name="numScales"/> among <paramref name="k"/> φ's.</summary>
    /// <remarks>
    /// var.md §1.5: ticks = linspace(1/3/K, 1−1/3/K, K) for K = 4 (1/2/K otherwise), index = argmin |tick − si/(SN−1)|
    /// with the first minimum winning; si = 2 and 7 of SN = 10 are exact ties that numpy's float64 arithmetic decides.
    /// </remarks>
    public static int PhiIndex(int si, int numScales, int k)
    {
        if (k == 1) return 0;
        double margin = k == 4 ? 1.0 / 3 / k : 1.0 / 2 / k;
        double start = margin, stop = 1 - margin;
        double step = (stop - start) / (k - 1);
        double at = numScales == 1 ? 0 : si / (double)(numScales - 1);
        int best = 0;
        double bestDist = double.PositiveInfinity;
        for (int i = 0; i < k; i++)
        {
            double tick = i == k - 1 ? stop : i * step + start;
            double dist = Math.Abs(tick - at);
            if (dist < bestDist)
            {
                bestDist = dist;
                best = i;
            }
        }
        return best;
    }

    /// <summary>The φ applied at scale <paramref name="si"/>.</summary>
    public Phi PhiAt(int si) => phis[phiIndexOfScale[si]];

    /// <summary>
    /// Nearest codes for vectors zNC (N, Cvae) → (N,) int64, by d = ‖z‖² + ‖e‖² − 2 z·e (fp32, first minimum).
    /// </summary>
    public Tensor NearestCode(Tensor zNC)
    {
        using var scope = NewDisposeScope();
        var e = embedding.weight!.detach();
        var d = zNC.square().sum(1, keepdim: true) + e.square().sum(1);
        d = d.addmm(zNC, e.t(), beta: 1, alpha: -2);
        return d.argmin(1).MoveToOuterDisposeScope();
    }

    /// <summary>Embeddings of token ids idxBl (B, l) → (B, Cvae, pn, pn) with pn = √l.</summary>
    public Tensor EmbedTokens(Tensor idxBl)
    {
        long b = idxBl.shape[0];
        long pn = (long)Math.Round(Math.Sqrt(idxBl.shape[1]));
        using var e = embedding.forward(idxBl);
        return e.transpose(1, 2).reshape(b, Channels, pn, pn);
    }

    /// <summary>
    /// Adds scale <paramref name="si"/>'s embedding hBChw (B, Cvae, pn, pn) to f̂ (B, Cvae, H, W): bicubic up to H×W
    /// (not at the last scale), then φ. Returns the new f̂; the input f̂ is left untouched.
    /// </summary>
    public Tensor AddScale(int si, Tensor fHat, Tensor hBChw)
    {
        using var scope = NewDisposeScope();
        var h = UpToFull(si, hBChw, fHat.shape[2]);
        return (fHat + PhiAt(si).forward(h)).MoveToOuterDisposeScope();
    }

    /// <summary>Area-resizes f̂ (B, C, H, W) to scale <paramref name="si"/> and flattens it to (B, pn², C).</summary>
    public Tensor DownToScale(Tensor fHat, int si)
    {
        int pn = PatchNums[si];
        using var scope = NewDisposeScope();
        var z = pn == fHat.shape[2] ? fHat : nn.functional.adaptive_avg_pool2d(fHat, [pn, pn]);
        return z.flatten(2).transpose(1, 2).contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Quantizes a latent fBChw (B, Cvae, H, W) scale by scale (var.md §1.6 <c>f_to_idxBl_or_fhat</c>). Returns the token ids
    /// per scale (B, pn²) and, when asked, f̂ after each scale.
    /// </summary>
    public (Tensor[] IdxBl, Tensor[]? FHats) Quantize(Tensor fBChw, bool keepFHats = false)
    {
        long b = fBChw.shape[0], side = fBChw.shape[2];
        if (side != PatchNums[^1] || fBChw.shape[3] != side)
            throw new ArgumentException($"latent is {side}×{fBChw.shape[3]} but the last scale is {PatchNums[^1]}×{PatchNums[^1]}");
        var idx = new Tensor[PatchNums.Length];
        var fHats = keepFHats ? new Tensor[PatchNums.Length] : null;
        using var scope = NewDisposeScope();
        foreach (var step in WalkScales(fBChw))
        {
            int pn = PatchNums[step.Si];
            idx[step.Si] = step.IdxN.view(b, pn * pn).MoveToOuterDisposeScope();
            if (fHats is not null) fHats[step.Si] = step.FHat.clone().MoveToOuterDisposeScope();
        }
        return (idx, fHats);
    }

    /// <summary>
    /// The residual vectors z (N, Cvae) every scale looks up while quantizing fBChw (B, Cvae, H, W), all scales
    /// concatenated in order (N = B·Σ pn²), for dead-code restarts.
    /// </summary>
    public Tensor ResidualVectors(Tensor fBChw)
    {
        using var scope = NewDisposeScope();
        var parts = new List<Tensor>();
        foreach (var step in WalkScales(fBChw)) parts.Add(step.ZNC);
        return cat(parts, 0).MoveToOuterDisposeScope();
    }

    /// <summary>f̂ (B, Cvae, H, W) from token ids per scale (var.md §1.6 <c>embed_to_fhat</c>).</summary>
    public Tensor TokensToFHat(IReadOnlyList<Tensor> idxBl)
    {
        using var scope = NewDisposeScope();
        long b = idxBl[0].shape[0];
        int side = PatchNums[^1];
        var fHat = zeros(new long[] { b, Channels, side, side }, dtype: embedding.weight!.dtype, device: embedding.weight!.device);
        for (int si = 0; si < idxBl.Count; si++)
            fHat = fHat + PhiAt(si).forward(UpToFull(si, EmbedTokens(idxBl[si]), side));
        return fHat.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Teacher-forcing input (var.md §1.6 <c>idxBl_to_var_input</c>): (B, L − pn₀², Cvae), every scale but the first,
    /// each the area-downsampled f̂ accumulated over the coarser scales.
    /// </summary>
    public Tensor TokensToVarInput(IReadOnlyList<Tensor> idxBl)
    {
        using var scope = NewDisposeScope();
        long b = idxBl[0].shape[0];
        int side = PatchNums[^1];
        var fHat = zeros(new long[] { b, Channels, side, side }, dtype: embedding.weight!.dtype, device: embedding.weight!.device);
        var parts = new List<Tensor>();
        for (int si = 0; si < PatchNums.Length - 1; si++)
        {
            fHat = fHat + PhiAt(si).forward(UpToFull(si, EmbedTokens(idxBl[si]), side));
            parts.Add(DownToScale(fHat, si + 1));
        }
        return cat(parts, 1).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Scale <paramref name="si"/>'s own contribution at its own size (hmar.md §1, the masked-step input h_k):
    /// area_down(φ_k(bicubic_up(emb(idxBl)))), (B, pn², Cvae). Computed from every token of idxBl (B, pn²), so a token
    /// reaches its neighbours' slots through the upsample and φ's 3×3 convolution (the reference's leak).
    /// </summary>
    public Tensor OwnScaleInput(int si, Tensor idxBl)
    {
        using var scope = NewDisposeScope();
        int side = PatchNums[^1];
        var h = PhiAt(si).forward(UpToFull(si, EmbedTokens(idxBl), side));
        return DownToScale(h, si).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The masked-prediction teacher input (hmar.md §1, <c>idxBl_to_mask_input</c>): <see cref="OwnScaleInput"/> of every
    /// scale but the first, concatenated, (B, L − pn₀², Cvae).
    /// </summary>
    public Tensor TokensToMaskInput(IReadOnlyList<Tensor> idxBl)
    {
        using var scope = NewDisposeScope();
        var parts = Enumerable.Range(1, PatchNums.Length - 1).Select(si => OwnScaleInput(si, idxBl[si])).ToArray();
        return cat(parts, 1).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Training forward (var.md §1.6 "VAE training forward"): quantizes fBChw (B, Cvae, H, W) with gradients flowing to
    /// the codebook and φ, returning the straight-through f̂ = (f̂ − f).detach() + f, the VQ loss
    /// mean over scales of [β·mse(f̂.detach(), f) + mse(f̂, f.detach())], and code-hit counts per scale (SN, V) int64.
    /// </summary>
    public (Tensor FHatStraightThrough, Tensor VqLoss, Tensor HitsSV) ForwardTraining(Tensor fBChw, double beta = 0.25)
    {
        using var scope = NewDisposeScope();
        var fNoGrad = fBChw.detach();
        Tensor loss = zeros(1, device: fBChw.device).squeeze();
        var hits = new List<Tensor>();
        Tensor? fHat = null;   // set at every scale; the schedule is never empty (VqvaeConfig.Validate)
        foreach (var step in WalkScales(fBChw))
        {
            hits.Add(bincount(step.IdxN, minlength: VocabSize));
            fHat = step.FHat;
            loss = loss + nn.functional.mse_loss(fHat.detach(), fBChw).mul(beta) + nn.functional.mse_loss(fHat, fNoGrad);
        }
        loss = loss.div(PatchNums.Length);
        var st = (fHat!.detach() - fNoGrad) + fBChw;
        return (st.MoveToOuterDisposeScope(), loss.MoveToOuterDisposeScope(), stack(hits).MoveToOuterDisposeScope());
    }

    /// <summary>
    /// The residual walk every quantizing pass shares (var.md §1.6): at each scale the rest f − f̂ is area-downsampled
    /// to pn×pn (not at the last scale), its vectors z are looked up in the codebook without gradient, and the codes'
    /// embedding, bicubic-upsampled and refined by φ, is added to f̂ and taken off the rest. Gradients reach the codebook
    /// and φ through f̂ only. Tensors are left to the caller's dispose scope.
    /// </summary>
    private IEnumerable<ScaleStep> WalkScales(Tensor fBChw)
    {
        long b = fBChw.shape[0], side = fBChw.shape[2];
        var fRest = fBChw.detach().clone();
        var fHat = zeros_like(fRest);
        for (int si = 0; si < PatchNums.Length; si++)
        {
            int pn = PatchNums[si];
            Tensor zNC, idxN;
            using (no_grad())
            {
                var z = si < PatchNums.Length - 1 ? nn.functional.adaptive_avg_pool2d(fRest, [pn, pn]) : fRest;
                zNC = z.permute(0, 2, 3, 1).reshape(-1, Channels);
                idxN = NearestCode(zNC);
            }
            var h = embedding.forward(idxN).view(b, pn, pn, Channels).permute(0, 3, 1, 2);
            h = PhiAt(si).forward(UpToFull(si, h, side));
            fHat = fHat + h;
            fRest = fRest - h.detach();
            yield return new ScaleStep(si, zNC, idxN, fHat);
        }
    }

    private Tensor UpToFull(int si, Tensor h, long side) =>
        si < PatchNums.Length - 1 && h.shape[2] != side
            ? nn.functional.interpolate(h, size: [side, side], mode: InterpolationMode.Bicubic, align_corners: false)
            : h.alias();

    /// <summary>One scale of <see cref="WalkScales"/>: the rest's vectors zNC (B·pn², Cvae), their codes idxN (B·pn²) and f̂ so far.</summary>
    private readonly record struct ScaleStep(int Si, Tensor ZNC, Tensor IdxN, Tensor FHat);

    /// <summary>Holder giving the partially shared φ's the key prefix <c>qresi_ls.{k}</c>.</summary>
    private sealed class PartiallySharedPhiHolder : nn.Module
    {
        private readonly ModuleList<Phi> qresi_ls;

        public PartiallySharedPhiHolder(Phi[] phis) : base("PhiPartiallyShared")
        {
            qresi_ls = nn.ModuleList(phis);
            RegisterComponents();
        }
    }

    /// <summary>Holder giving the single shared φ the key prefix <c>qresi</c>.</summary>
    private sealed class SharedPhiHolder : nn.Module
    {
        private readonly Phi qresi;

        public SharedPhiHolder(Phi phi) : base("PhiShared")
        {
            qresi = phi;
            RegisterComponents();
        }
    }
}
