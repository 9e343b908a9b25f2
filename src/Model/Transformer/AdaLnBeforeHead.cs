namespace Var.Model.Transformer;

/// <summary>Final AdaLN before the logits head: (scale, shift) = ada_lin(cond) (var.md §2.5).</summary>
public sealed class AdaLnBeforeHead : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly Sequential ada_lin;
    private readonly int width;
    private readonly double eps;

    /// <summary>Builds the head normaliser.</summary>
    public AdaLnBeforeHead(int width, double eps) : base("AdaLNBeforeHead")
    {
        this.width = width;
        this.eps = eps;
        ada_lin = nn.Sequential(("0", nn.SiLU()), ("1", nn.Linear(width, 2 * width)));
        RegisterComponents();
    }

    /// <summary>The modulation projection.</summary>
    internal Linear AdaLinear => (Linear)ada_lin[1];

    /// <summary>x (B, L, C), cond (B, C) → LN(x)·(1+scale) + shift.</summary>
    public override Tensor forward(Tensor x, Tensor cond)
    {
        using var scope = NewDisposeScope();
        var ss = ada_lin.forward(cond).view(-1, 1, 2, width).unbind(2);
        return nn.functional.layer_norm(x, [width], eps: eps).mul(ss[0].add(1)).add_(ss[1]).MoveToOuterDisposeScope();
    }
}
