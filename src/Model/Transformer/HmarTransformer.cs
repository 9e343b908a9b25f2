namespace Var.Model.Transformer;

/// <summary>
/// The HMAR transformer (hmar.md §1): VAR's AdaLN backbone where each scale attends only to its own tokens (the
/// block-diagonal mask, computed as a separate unmasked attention per scale, never as an L×L mask). A shared trunk
/// (<c>base_blocks</c>) feeds two tails: next-scale prediction (<c>ns_blocks</c>, <c>ns_head_nm</c>, <c>ns_head</c>) and
/// masked prediction inside a scale (<c>mask_blocks</c>, <c>mask_head_nm</c>, <c>mask_head</c>, <c>mask_embed</c>). The
/// field names are the official checkpoint's keys, so <c>hmar-d*.pth</c> loads strictly.
/// </summary>
public sealed class HmarTransformer : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly Parameter pos_start;
    private readonly Parameter pos_1LC;
    private readonly Parameter word_embed_bias;
    private readonly Tensor lvl_1L;
    // Part of the official key layout (the training mask); inference and the teacher-forced passes never read it.
    private readonly Tensor attn_bias_for_masking;
    private readonly Linear word_embed;
    private readonly Embedding mask_embed;
    private readonly Embedding class_emb;
    private readonly Embedding lvl_embed;
    private readonly ModuleList<AdaLnBlock> base_blocks;
    private readonly ModuleList<AdaLnBlock> ns_blocks;
    private readonly ModuleList<AdaLnBlock> mask_blocks;
    private readonly AdaLnBeforeHead ns_head_nm;
    private readonly Linear ns_head;
    private readonly AdaLnBeforeHead mask_head_nm;
    private readonly Linear mask_head;

    /// <summary>The architecture.</summary>
    public HmarConfig Config { get; }

    /// <summary>The backbone's configuration (classes, tokenizer, scales).</summary>
    public VarConfig Backbone => Config.Backbone;

    /// <summary>[begin, end) token range of every scale.</summary>
    public IReadOnlyList<(int Begin, int End)> ScaleRanges { get; }

    /// <summary>Builds an HMAR transformer with small random weights (loading a checkpoint replaces them).</summary>
    public HmarTransformer(HmarConfig config) : base("HMAR")
    {
        config.Validate();
        Config = config;
        var b = config.Backbone;
        int c = b.EmbedDim, l = b.TotalTokens;
        double initStd = Math.Sqrt(1.0 / c / 3);
        pos_start = new Parameter(empty(1, 1, c).normal_(0, initStd));
        pos_1LC = new Parameter(empty(1, l, c).normal_(0, initStd));
        word_embed_bias = new Parameter(zeros(c));
        var ranges = new List<(int, int)>();
        var levels = new long[l];
        int at = 0;
        for (int si = 0; si < b.PatchNums.Length; si++)
        {
            int n = b.PatchNums[si] * b.PatchNums[si];
            ranges.Add((at, at + n));
            for (int i = 0; i < n; i++) levels[at + i] = si;
            at += n;
        }
        ScaleRanges = ranges;
        lvl_1L = tensor(levels, new long[] { 1, l });
        using (var dq = lvl_1L.view(1, l, 1))
        using (var dk = lvl_1L.view(1, 1, l))
        using (var same = dq.eq(dk))
        {
            attn_bias_for_masking = where(same, 0.0f, float.NegativeInfinity).view(1, 1, l, l);
        }
        word_embed = nn.Linear(b.VaeChannels, c, hasBias: false);
        mask_embed = nn.Embedding(1, c);
        class_emb = nn.Embedding(b.NumClasses + 1, c);
        lvl_embed = nn.Embedding(b.NumScales, c);
        double Rate(int i) => b.Depth == 1 ? 0 : b.DropPathRate * i / (b.Depth - 1);
        base_blocks = nn.ModuleList(Enumerable.Range(0, config.BaseDepth).Select(i => new AdaLnBlock(b, Rate(i))).ToArray());
        ns_blocks = nn.ModuleList(Enumerable.Range(config.BaseDepth, config.TailDepth).Select(i => new AdaLnBlock(b, Rate(i))).ToArray());
        mask_blocks = nn.ModuleList(Enumerable.Range(config.BaseDepth, config.TailDepth).Select(i => new AdaLnBlock(b, Rate(i))).ToArray());
        ns_head_nm = new AdaLnBeforeHead(c, b.NormEps);
        ns_head = nn.Linear(c, b.VocabSize);
        mask_head_nm = new AdaLnBeforeHead(c, b.NormEps);
        mask_head = nn.Linear(c, b.VocabSize);
        RegisterComponents();
    }

    /// <summary>
    /// Re-initialises every weight as the reference's <c>init_weights</c> (var.md §2.7, the next-scale model of
    /// <c>R:train.py</c>), for training from scratch; the output projections are scaled by √(2·depth) of one path
    /// (trunk + one tail). <paramref name="initAdalnGamma"/> scales the γ rows of every block's modulation.
    /// </summary>
    public void InitWeights(double initStd, double initAdaln, double initAdalnGamma, double initHead) =>
        TransformerInit.Apply(this, Backbone.EmbedDim, Backbone.Depth, [pos_start, pos_1LC], [ns_head, mask_head], [ns_head_nm, mask_head_nm],
            base_blocks.Concat(ns_blocks).Concat(mask_blocks), initStd, initAdaln, initAdalnGamma, initHead);

    /// <summary>Which prediction a pass makes.</summary>
    public enum Head
    {
        /// <summary>Next-scale prediction: trunk, <c>ns_blocks</c>, <c>ns_head</c>.</summary>
        NextScale,

        /// <summary>Masked prediction inside a scale: trunk, <c>mask_blocks</c>, <c>mask_head</c>.</summary>
        Masked,
    }

    /// <summary>Class embeddings (B, C) of labels (B,) int64; the row <see cref="VarConfig.NullClass"/> is unconditional.</summary>
    public Tensor ClassEmbedding(Tensor labelB) => class_emb.forward(labelB);

    /// <summary>Per-block modulations (B, 1, 6, C) for cond (B, C): trunk, next-scale tail, masked tail, in that order.</summary>
    public Tensor[] BlockModulations(Tensor cond)
    {
        using var scope = NewDisposeScope();
        using var timed = OpProfile.Measure("adaln");
        var mods = base_blocks.Concat(ns_blocks).Concat(mask_blocks).Select(blk => blk.Modulation(cond)).ToArray();
        foreach (var m in mods) m.MoveToOuterDisposeScope();
        return mods;
    }

    /// <summary>lvl_embed(level) + pos for tokens [begin, end): (1, end − begin, C).</summary>
    public Tensor LevelPositions(int begin, int end) => ScaleEmbedding.LevelPositions(lvl_1L, lvl_embed, pos_1LC, begin, end);

    /// <summary>The first-scale input (the start token) for conditions cond (B, C): (B, pn₀², C).</summary>
    public Tensor StartInput(Tensor cond)
    {
        int first = Backbone.PatchNums[0] * Backbone.PatchNums[0];
        using var positions = LevelPositions(0, first);
        return ScaleEmbedding.StartInput(cond, pos_start, first, positions);
    }

    /// <summary>
    /// The next-scale input of scale <paramref name="si"/> ≥ 1 (hmar.md §1): word_embed(area_down(f̂_&lt;k)) + word_embed_bias
    /// + lvl + pos, from nextBlCv (B, pn², Cvae): (B, pn², C).
    /// </summary>
    public Tensor ScaleInput(Tensor nextBlCv, int si)
    {
        using var scope = NewDisposeScope();
        var (begin, end) = ScaleRanges[si];
        var x = word_embed.forward(nextBlCv.to(word_embed.weight!.dtype)) + word_embed_bias;
        return (x + LevelPositions(begin, end)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The masked-step input of scale <paramref name="si"/> ≥ 1 (hmar.md §1): word_embed(area_down(f̂_&lt;k)) +
    /// [word_embed(h_k) where visible | mask_embed where masked] + word_embed_bias + lvl + pos. nextBlCv and ownBlCv
    /// (B, pn², Cvae) are the next-scale input and the scale's own contribution from all its current tokens
    /// (<see cref="Vqvae.ResidualQuantizer.OwnScaleInput"/>); maskedBl (B, pn²) or (1, pn²) bool. Returns (B, pn², C).
    /// </summary>
    public Tensor MaskedInput(Tensor nextBlCv, Tensor ownBlCv, Tensor maskedBl, int si)
    {
        using var scope = NewDisposeScope();
        var own = word_embed.forward(ownBlCv.to(word_embed.weight!.dtype));
        var masked = mask_embed.weight!.view(1, 1, -1).expand_as(own);
        var x = ScaleInput(nextBlCv, si) + where(maskedBl.unsqueeze(-1), masked, own);
        return x.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// One scale through the trunk and a tail: x (B, l, C) of one scale's tokens (full attention among them, nothing
    /// else), modulations from <see cref="BlockModulations"/>, cond (B, C) → logits (B, l, V) float32.
    /// </summary>
    public Tensor ScaleLogits(Tensor x, Tensor[] mods, Tensor cond, Head head)
    {
        using var scope = NewDisposeScope();
        int nb = base_blocks.Count, nt = Config.TailDepth;
        for (int i = 0; i < nb; i++) x = base_blocks[i].forward(x, mods[i], null);
        var (tail, offset, norm, linear) = head == Head.NextScale
            ? (ns_blocks, nb, ns_head_nm, ns_head)
            : (mask_blocks, nb + nt, mask_head_nm, mask_head);
        for (int i = 0; i < nt; i++) x = tail[i].forward(x, mods[offset + i], null);
        using var timed = OpProfile.Measure("head");
        using var h = norm.forward(x, cond);
        return linear.forward(h).to(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Teacher-forced next-scale forward (hmar.md §1, class dropout off): labels (B,) int64 and the next-scale input
    /// xBLCv (B, L − pn₀², Cvae) → logits (B, L, V) float32. Block-diagonal attention, computed scale by scale.
    /// </summary>
    public override Tensor forward(Tensor labelB, Tensor xBLCv) => TeacherForced(labelB, xBLCv, null, null);

    /// <summary>
    /// Teacher-forced masked-prediction forward (hmar.md §2 phase 2, class dropout off): the next-scale input xBLCv and
    /// the own-scale input ownBLCv (both (B, L − pn₀², Cvae)), and which of the L positions are masked, maskedL (L,)
    /// bool (scale 0 is never masked) → mask-head logits (B, L, V) float32.
    /// </summary>
    public Tensor MaskedForward(Tensor labelB, Tensor xBLCv, Tensor ownBLCv, Tensor maskedL) => TeacherForced(labelB, xBLCv, ownBLCv, maskedL);

    private Tensor TeacherForced(Tensor labelB, Tensor xBLCv, Tensor? ownBLCv, Tensor? maskedL)
    {
        using var scope = NewDisposeScope();
        var cond = class_emb.forward(labelB);
        var mods = BlockModulations(cond);
        int first = ScaleRanges[0].End;
        var head = ownBLCv is null ? Head.NextScale : Head.Masked;
        var parts = new List<Tensor> { ScaleLogits(StartInput(cond), mods, cond, head) };
        for (int si = 1; si < ScaleRanges.Count; si++)
        {
            var (begin, end) = ScaleRanges[si];
            var next = xBLCv.narrow(1, begin - first, end - begin);
            var x = ownBLCv is null
                ? ScaleInput(next, si)
                : MaskedInput(next, ownBLCv.narrow(1, begin - first, end - begin), maskedL!.narrow(0, begin, end - begin).unsqueeze(0), si);
            parts.Add(ScaleLogits(x, mods, cond, head));
        }
        return cat(parts, 1).MoveToOuterDisposeScope();
    }
}
