namespace Var.Model.Transformer;

/// <summary>
/// Multi-head self-attention of a VAR block (var.md §2.4): fused qkv with q/v biases and a zero k bias, optional
/// l2-normalised q/k with a learned per-head temperature. The KV cache for scale-by-scale inference is passed in.
/// </summary>
public sealed class SelfAttention : nn.Module<Tensor, Tensor?, Tensor>
{
    // VAR §2.4: the temperature exp(scale_mul) is clamped at 100 (ln 100).
    private const double MaxLogScale = 4.605170185988092;

    private readonly Linear mat_qkv;
    private readonly Parameter q_bias;
    private readonly Parameter v_bias;
    private readonly Tensor zero_k_bias;
    private readonly Parameter? scale_mul_1H11;
    private readonly Linear proj;
    private readonly int heads;
    private readonly int headDim;

    /// <summary>Builds attention of width <paramref name="width"/> with <paramref name="heads"/> heads.</summary>
    public SelfAttention(int width, int heads, bool l2Norm) : base(nameof(SelfAttention))
    {
        this.heads = heads;
        headDim = width / heads;
        mat_qkv = nn.Linear(width, 3 * width, hasBias: false);
        q_bias = new Parameter(zeros(width));
        v_bias = new Parameter(zeros(width));
        zero_k_bias = zeros(width);
        // VAR §2.7: the per-head log temperature starts at ln 4.
        scale_mul_1H11 = l2Norm ? new Parameter(full(new long[] { 1, heads, 1, 1 }, Math.Log(4.0))) : null;
        proj = nn.Linear(width, width);
        RegisterComponents();
    }

    /// <summary>x (B, L, C) → (B, L, C). <paramref name="attnBias"/> is an additive (1, 1, L, L) mask or null.</summary>
    public override Tensor forward(Tensor x, Tensor? attnBias) => Attend(x, attnBias, null);

    /// <summary>
    /// Like <see cref="forward"/>, but the keys and values of x are appended to <paramref name="cache"/> and the queries
    /// attend to everything cached so far; <paramref name="attnBias"/> then spans (1, 1, L, cached length) or is null.
    /// </summary>
    internal Tensor CachedForward(Tensor x, Tensor? attnBias, KvCache cache) => Attend(x, attnBias, cache);

    private Tensor Attend(Tensor x, Tensor? attnBias, KvCache? cache)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], l = x.shape[1], c = x.shape[2];
        var bias = cat(new[] { q_bias, zero_k_bias.to(q_bias.dtype), v_bias }, 0);
        Tensor q, k, v;
        // The fused qkv activation lives in its own scope: once q, k and v are derived (and k, v copied into the cache)
        // its storage is freed before attention runs, instead of staying alive until the block ends.
        using (var projection = NewDisposeScope())
        {
            var qkv = nn.functional.linear(x, mat_qkv.weight!, bias).view(b, l, 3, heads, headDim).permute(2, 0, 3, 1, 4);
            (q, k, v) = (qkv[0], qkv[1], qkv[2]);
            // SDPA always scales by 1/√d; pre-scaling q gives the reference's softmax scale (1 for l2-norm, 0.25/√d plain).
            double sdpaCompensation = Math.Sqrt(headDim);
            if (scale_mul_1H11 is not null)
            {
                var scaleMul = scale_mul_1H11.clamp_max(MaxLogScale).exp().mul(sdpaCompensation);
                q = nn.functional.normalize(q, p: 2, dim: -1, eps: 1e-12).mul(scaleMul);
                k = nn.functional.normalize(k, p: 2, dim: -1, eps: 1e-12);
            }
            else
            {
                q = q.mul(0.25 / Math.Sqrt(headDim) * sdpaCompensation);
            }
            if (cache is not null) (k, v) = cache.Append(k, v);
            q.MoveToOuterDisposeScope();
            k.MoveToOuterDisposeScope();
            v.MoveToOuterDisposeScope();
        }
        var o = nn.functional.scaled_dot_product_attention(q, k, v, attnBias?.to(q.dtype));
        foreach (var t in new[] { q, k, v }) t.Dispose();
        Tensor oBLC;
        using (o) oBLC = o.transpose(1, 2).reshape(b, l, c);
        return proj.forward(oBLC).MoveToOuterDisposeScope();
    }
}
