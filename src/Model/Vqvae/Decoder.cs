namespace Var.Model.Vqvae;

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
