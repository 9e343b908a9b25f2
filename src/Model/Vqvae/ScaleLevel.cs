namespace Var.Model.Vqvae;

/// <summary>One resolution level: residual blocks, optional attention after each block, optional resampler.</summary>
public sealed class ScaleLevel : nn.Module<Tensor, Tensor>
{
    private readonly ModuleList<ResnetBlock> block;
    private readonly ModuleList<AttnBlock> attn;
    private readonly nn.Module<Tensor, Tensor>? downsample;
    private readonly nn.Module<Tensor, Tensor>? upsample;

    /// <summary>Builds a level; exactly one of <paramref name="down"/> / <paramref name="up"/> may be set.</summary>
    public ScaleLevel(IEnumerable<ResnetBlock> blocks, IEnumerable<AttnBlock> attns, Downsample2x? down, Upsample2x? up)
        : base(nameof(ScaleLevel))
    {
        block = nn.ModuleList(blocks.ToArray());
        attn = nn.ModuleList(attns.ToArray());
        downsample = down;
        upsample = up;
        RegisterComponents();
    }

    /// <summary>Runs the blocks (each followed by its attention, when present), then the resampler.</summary>
    public override Tensor forward(Tensor x)
    {
        var h = x;
        for (int i = 0; i < block.Count; i++)
        {
            h = Chain.Next(h, x, block[i]);
            if (attn.Count > 0) h = Chain.Next(h, x, attn[i]);
        }
        var resampler = downsample ?? upsample;
        if (resampler is not null) h = Chain.Next(h, x, resampler);
        return ReferenceEquals(h, x) ? x.alias() : h;
    }
}
