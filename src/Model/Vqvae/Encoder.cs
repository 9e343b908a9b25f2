namespace Var.Model.Vqvae;

/// <summary>Runs a module on an intermediate and frees the intermediate (never the caller's input).</summary>
internal static class Chain
{
    public static Tensor Next(Tensor h, Tensor input, nn.Module<Tensor, Tensor> module)
    {
        var next = module.forward(h);
        if (!ReferenceEquals(h, input)) h.Dispose();
        return next;
    }
}

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

/// <summary>Middle of the encoder/decoder: block_1 → attn_1 (optional) → block_2.</summary>
public sealed class MidBlock : nn.Module<Tensor, Tensor>
{
    private readonly ResnetBlock block_1;
    private readonly AttnBlock? attn_1;
    private readonly ResnetBlock block_2;

    /// <summary>Builds the middle block at <paramref name="channels"/> channels.</summary>
    public MidBlock(int channels, bool usingAttention) : base(nameof(MidBlock))
    {
        block_1 = new ResnetBlock(channels, channels);
        attn_1 = usingAttention ? new AttnBlock(channels) : null;
        block_2 = new ResnetBlock(channels, channels);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        var h = block_1.forward(x);
        if (attn_1 is not null) h = Chain.Next(h, x, attn_1);
        return Chain.Next(h, x, block_2);
    }
}

/// <summary>VQVAE encoder: image (B, 3, H, W) in [−1, 1] → latent (B, Cvae, H/f, W/f) (var.md §1.3).</summary>
public sealed class Encoder : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv_in;
    private readonly ModuleList<ScaleLevel> down;
    private readonly MidBlock mid;
    private readonly GroupNorm norm_out;
    private readonly Conv2d conv_out;

    /// <summary>Builds the encoder for <paramref name="config"/>.</summary>
    public Encoder(VqvaeConfig config) : base(nameof(Encoder))
    {
        int levels = config.ChMult.Length;
        conv_in = nn.Conv2d(config.InChannels, config.Ch, 3, padding: 1);
        var levelList = new List<ScaleLevel>();
        int blockIn = config.Ch;
        for (int level = 0; level < levels; level++)
        {
            int blockOut = config.Ch * config.ChMult[level];
            var blocks = new List<ResnetBlock>();
            var attns = new List<AttnBlock>();
            for (int i = 0; i < config.NumResBlocks; i++)
            {
                blocks.Add(new ResnetBlock(blockIn, blockOut));
                blockIn = blockOut;
                if (level == levels - 1 && config.UsingSa) attns.Add(new AttnBlock(blockIn));
            }
            levelList.Add(new ScaleLevel(blocks, attns, level != levels - 1 ? new Downsample2x(blockIn) : null, null));
        }
        down = nn.ModuleList(levelList.ToArray());
        mid = new MidBlock(blockIn, config.UsingMidSa);
        norm_out = VqvaeLayers.Normalize(blockIn);
        conv_out = nn.Conv2d(blockIn, config.ZChannels, 3, padding: 1);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        var h = conv_in.forward(x);
        foreach (var level in down) h = Chain.Next(h, x, level);
        h = Chain.Next(h, x, mid);
        using (h)
        using (var a = VqvaeLayers.NormSilu(norm_out, h)) return conv_out.forward(a);
    }
}

/// <summary>VQVAE decoder: latent (B, Cvae, h, w) → image (B, 3, h·f, w·f), unclamped (var.md §1.3).</summary>
public sealed class Decoder : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv_in;
    private readonly MidBlock mid;
    private readonly ModuleList<ScaleLevel> up;
    private readonly GroupNorm norm_out;
    private readonly Conv2d conv_out;

    /// <summary>Builds the decoder for <paramref name="config"/>.</summary>
    public Decoder(VqvaeConfig config) : base(nameof(Decoder))
    {
        int levels = config.ChMult.Length;
        int blockIn = config.Ch * config.ChMult[^1];
        conv_in = nn.Conv2d(config.ZChannels, blockIn, 3, padding: 1);
        mid = new MidBlock(blockIn, config.UsingMidSa);
        var levelList = new ScaleLevel[levels];
        for (int level = levels - 1; level >= 0; level--)
        {
            int blockOut = config.Ch * config.ChMult[level];
            var blocks = new List<ResnetBlock>();
            var attns = new List<AttnBlock>();
            for (int i = 0; i < config.NumResBlocks + 1; i++)
            {
                blocks.Add(new ResnetBlock(blockIn, blockOut));
                blockIn = blockOut;
                if (level == levels - 1 && config.UsingSa) attns.Add(new AttnBlock(blockIn));
            }
            // Stored so that up[i] is level i, run from the last level down to 0.
            levelList[level] = new ScaleLevel(blocks, attns, null, level != 0 ? new Upsample2x(blockIn) : null);
        }
        up = nn.ModuleList(levelList);
        norm_out = VqvaeLayers.Normalize(blockIn);
        conv_out = nn.Conv2d(blockIn, config.InChannels, 3, padding: 1);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor z)
    {
        var h = Chain.Next(conv_in.forward(z), z, mid);
        for (int level = up.Count - 1; level >= 0; level--) h = Chain.Next(h, z, up[level]);
        using (h)
        using (var a = VqvaeLayers.NormSilu(norm_out, h)) return conv_out.forward(a);
    }
}
