namespace Var.Model.Transformer;

/// <summary>
/// The VAR next-scale transformer (var.md §2): class embedding as start token and AdaLN condition, level and absolute
/// position embeddings, AdaLN blocks with a block-causal mask, and a final AdaLN + linear head over the codebook.
/// </summary>
public sealed class VarTransformer : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly Parameter pos_start;
    private readonly Parameter pos_1LC;
    private readonly Tensor lvl_1L;
    private readonly Tensor attn_bias_for_masking;
    private readonly Linear word_embed;
    private readonly Embedding class_emb;
    private readonly Embedding lvl_embed;
    private readonly ModuleList<AdaLnBlock> blocks;
    private readonly Sequential? shared_ada_lin;
    private readonly AdaLnBeforeHead head_nm;
    private readonly Linear head;

    /// <summary>The architecture.</summary>
    public VarConfig Config { get; }

    /// <summary>[begin, end) token range of every scale.</summary>
    public IReadOnlyList<(int Begin, int End)> ScaleRanges { get; }

    /// <summary>Builds a VAR transformer with the reference's initialisation (var.md §2.7, gamma init 1e-5).</summary>
    public VarTransformer(VarConfig config) : base("VAR")
    {
        config.Validate();
        Config = config;
        int c = config.EmbedDim, l = config.TotalTokens;
        double initStd = Math.Sqrt(1.0 / c / 3);
        pos_start = new Parameter(empty(1, 1, c));
        pos_1LC = new Parameter(empty(1, l, c));
        var ranges = new List<(int, int)>();
        var levels = new long[l];
        int at = 0;
        for (int si = 0; si < config.PatchNums.Length; si++)
        {
            int n = config.PatchNums[si] * config.PatchNums[si];
            ranges.Add((at, at + n));
            for (int i = 0; i < n; i++) levels[at + i] = si;
            at += n;
        }
        ScaleRanges = ranges;
        lvl_1L = tensor(levels, new long[] { 1, l });
        using (var dq = lvl_1L.view(1, l, 1))
        using (var dk = lvl_1L.view(1, 1, l))
        using (var visible = dq.ge(dk))
        {
            // VAR §2.3: a query sees every key of its own and of every coarser scale.
            attn_bias_for_masking = where(visible, 0.0f, float.NegativeInfinity).view(1, 1, l, l);
        }
        word_embed = nn.Linear(config.VaeChannels, c);
        class_emb = nn.Embedding(config.NumClasses + 1, c);
        lvl_embed = nn.Embedding(config.NumScales, c);
        double[] dpr = Enumerable.Range(0, config.Depth)
            .Select(i => config.Depth == 1 ? 0 : config.DropPathRate * i / (config.Depth - 1)).ToArray();
        blocks = nn.ModuleList(Enumerable.Range(0, config.Depth).Select(i => new AdaLnBlock(config, dpr[i])).ToArray());
        shared_ada_lin = config.SharedAdaLn ? nn.Sequential(("0", nn.SiLU()), ("1", nn.Linear(c, 6 * c))) : null;
        head_nm = new AdaLnBeforeHead(c, config.NormEps);
        head = nn.Linear(c, config.VocabSize);
        RegisterComponents();
        InitWeights(initStd, initAdaln: 0.5, initAdalnGamma: 1e-5, initHead: 0.02);
    }

    /// <summary>Number of blocks.</summary>
    public int Depth => blocks.Count;

    /// <summary>
    /// Re-initialises every weight as the reference's <c>init_weights</c> (var.md §2.7). <paramref name="initAdalnGamma"/>
    /// scales the γ rows of every block's modulation (1e-3 for small models trained here).
    /// </summary>
    public void InitWeights(double initStd, double initAdaln, double initAdalnGamma, double initHead) =>
        TransformerInit.Apply(this, Config.EmbedDim, Config.Depth, [pos_start, pos_1LC], [head], [head_nm], blocks, initStd, initAdaln, initAdalnGamma, initHead);

    /// <summary>Class embeddings (B, C) of labels (B,) int64; the row <see cref="VarConfig.NullClass"/> is unconditional.</summary>
    public Tensor ClassEmbedding(Tensor labelB) => class_emb.forward(labelB);

    /// <summary>Per-block modulations (B, 1, 6, C) for the condition cond (B, C).</summary>
    public Tensor[] BlockModulations(Tensor cond)
    {
        using var scope = NewDisposeScope();
        using var timed = OpProfile.Measure("adaln");
        Tensor condOrShared = cond;
        if (shared_ada_lin is not null) condOrShared = shared_ada_lin.forward(cond).view(-1, 1, 6, Config.EmbedDim);
        var mods = blocks.Select(b => b.Modulation(condOrShared)).ToArray();
        foreach (var m in mods) m.MoveToOuterDisposeScope();
        return mods;
    }

    /// <summary>
    /// Teacher-forced forward (var.md §2.6) with no class dropout: labels (B,) int64 and the teacher-forcing input
    /// xBLCv (B, L − pn₀², Cvae) → logits (B, L, V) float32, under the block-causal mask.
    /// </summary>
    public override Tensor forward(Tensor labelB, Tensor xBLCv)
    {
        using var scope = NewDisposeScope();
        long b = labelB.shape[0];
        var cond = class_emb.forward(labelB);
        int first = Config.PatchNums[0] * Config.PatchNums[0];
        var sos = cond.unsqueeze(1).expand(b, first, -1) + pos_start.expand(b, first, -1);
        var x = cat(new[] { sos, word_embed.forward(xBLCv.to(word_embed.weight!.dtype)) }, 1);
        x = x + LevelPositions(0, Config.TotalTokens);
        var mods = BlockModulations(cond);
        var bias = attn_bias_for_masking.to(x.dtype);
        for (int i = 0; i < blocks.Count; i++) x = blocks[i].forward(x, mods[i], bias);
        return Logits(x, cond).MoveToOuterDisposeScope();
    }

    /// <summary>lvl_embed(level) + pos for tokens [begin, end): (1, end − begin, C).</summary>
    public Tensor LevelPositions(int begin, int end) => ScaleEmbedding.LevelPositions(lvl_1L, lvl_embed, pos_1LC, begin, end);

    /// <summary>The first-scale input for conditions cond (B, C): (B, pn₀², C).</summary>
    public Tensor StartInput(Tensor cond)
    {
        int first = Config.PatchNums[0] * Config.PatchNums[0];
        using var positions = LevelPositions(0, first);
        return ScaleEmbedding.StartInput(cond, pos_start, first, positions);
    }

    /// <summary>Embeds the next scale's input nextBlCv (B, pn², Cvae) for scale <paramref name="si"/>: (B, pn², C).</summary>
    public Tensor ScaleInput(Tensor nextBlCv, int si)
    {
        using var scope = NewDisposeScope();
        var (begin, end) = ScaleRanges[si];
        var x = word_embed.forward(nextBlCv.to(word_embed.weight!.dtype));
        return (x + LevelPositions(begin, end)).MoveToOuterDisposeScope();
    }

    /// <summary>An empty KV cache for this transformer, for up to <paramref name="tokens"/> tokens (default: the full sequence).</summary>
    public TransformerCache NewCache(int? tokens = null) => new(blocks.Count, tokens ?? Config.TotalTokens);

    /// <summary>
    /// One cached step: x (B, l, C) of the current scale, modulations from <see cref="BlockModulations"/> and cond
    /// (B, C) → logits (B, l, V) float32. The tokens of x attend to everything in <paramref name="cache"/> and to each
    /// other, and are appended to it.
    /// </summary>
    public Tensor CachedStep(Tensor x, Tensor[] mods, Tensor cond, TransformerCache cache)
    {
        using var scope = NewDisposeScope();
        for (int i = 0; i < blocks.Count; i++) x = blocks[i].CachedForward(x, mods[i], null, cache.Layer(i));
        return Logits(x, cond).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Prefill (CoDe §2.4 step 2): one block-causal pass over scales 0…<paramref name="lastScale"/> that fills the
    /// empty <paramref name="cache"/> with this transformer's keys and values of all those positions. cond (B, C) and
    /// mods as for <see cref="CachedStep"/>; xBLCv (B, P − pn₀², Cvae) holds the token-map inputs of scales
    /// 1…<paramref name="lastScale"/> (P = end of that scale). Returns the logits of the last scale's tokens (B, l, V)
    /// float32: the same as cached steps over the same inputs.
    /// </summary>
    public Tensor Prefill(Tensor cond, Tensor[] mods, Tensor xBLCv, int lastScale, TransformerCache cache)
    {
        if (cache.Length != 0) throw new ArgumentException("prefill needs an empty cache", nameof(cache));
        using var scope = NewDisposeScope();
        var (begin, end) = ScaleRanges[lastScale];
        int first = Config.PatchNums[0] * Config.PatchNums[0];
        var x = StartInput(cond);
        if (end > first)
        {
            var rest = word_embed.forward(xBLCv.to(word_embed.weight!.dtype)) + LevelPositions(first, end);
            x = cat(new[] { x, rest }, 1);
        }
        var bias = attn_bias_for_masking.narrow(2, 0, end).narrow(3, 0, end).to(x.dtype);
        for (int i = 0; i < blocks.Count; i++) x = blocks[i].CachedForward(x, mods[i], bias, cache.Layer(i));
        return Logits(x.narrow(1, begin, end - begin), cond).MoveToOuterDisposeScope();
    }

    private Tensor Logits(Tensor x, Tensor cond)
    {
        using var timed = OpProfile.Measure("head");
        using var h = head_nm.forward(x, cond);
        using var logits = head.forward(h);
        return logits.to(ScalarType.Float32);
    }
}
