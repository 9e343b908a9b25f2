namespace Var.Model.Vqvae;

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
