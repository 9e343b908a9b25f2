namespace Var.Model.Vqvae;

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
