namespace Var.Model.Transformer;

/// <summary>Two-layer MLP with tanh-approximated GELU (var.md §2.5).</summary>
public sealed class FeedForward : nn.Module<Tensor, Tensor>
{
    private readonly Linear fc1;
    private readonly Linear fc2;

    /// <summary>Builds C → hidden → C.</summary>
    public FeedForward(int width, int hidden) : base("FFN")
    {
        fc1 = nn.Linear(width, hidden);
        fc2 = nn.Linear(hidden, width);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        Tensor a;
        using (var h = fc1.forward(x)) a = nn.functional.gelu(h, GELU.Approximate.tanh);
        using (a) return fc2.forward(a);
    }
}
