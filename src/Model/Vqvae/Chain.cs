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
