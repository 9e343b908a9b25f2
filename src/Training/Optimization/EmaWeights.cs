namespace Var.Training.Optimization;

/// <summary>
/// An exponential moving average of a module's trainable parameters (Polyak averaging): after every optimiser step
/// shadow ← d·shadow + (1 − d)·θ with d = min(decay, (1 + t)/(10 + t)), so the average follows the early steps of a
/// run closely and settles at <see cref="Decay"/>. The shadow is what a run exports and evaluates; it is stored in the
/// run's checkpoint by name so a resumed run continues the same average.
/// </summary>
public sealed class EmaWeights : IDisposable
{
    private readonly List<(string Name, Parameter Param, Tensor Shadow)> items;
    private long updates;

    /// <summary>Starts the average at the module's current parameters.</summary>
    public EmaWeights(nn.Module model, double decay)
    {
        if (decay is <= 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(decay), decay, "the EMA decay must lie in (0, 1)");
        Decay = decay;
        using var noGrad = no_grad();
        items = model.named_parameters().Where(p => p.parameter.requires_grad)
            .Select(p => (p.name, p.parameter, p.parameter.detach().clone().DetachFromDisposeScope())).ToList();
    }

    /// <summary>The prefix of the average's tensors in a run checkpoint (the trainers' <see cref="StateItems"/> and <see cref="Load"/>).</summary>
    public const string CheckpointPrefix = "ema.";

    /// <summary>The decay the average settles at.</summary>
    public double Decay { get; }

    /// <summary>Folds the current parameters into the average.</summary>
    public void Update()
    {
        updates++;
        double d = Math.Min(Decay, (1.0 + updates) / (10.0 + updates));
        using var noGrad = no_grad();
        foreach (var (_, p, shadow) in items) shadow.mul_(d).add_(p, alpha: 1 - d);
    }

    /// <summary>The shadow tensors by parameter name, with the update count as a tensor, for a checkpoint.</summary>
    public IEnumerable<(string Key, Tensor Value)> StateItems(string prefix) =>
        items.Select(i => (prefix + i.Name, i.Shadow)).Append((prefix + "__updates__", tensor(new[] { updates })));

    /// <summary>Restores the average from checkpoint tensors; returns false (average left at the parameters) when absent.</summary>
    public bool Load(IReadOnlyDictionary<string, Tensor> tensors, string prefix)
    {
        if (!tensors.TryGetValue(prefix + "__updates__", out var count)) return false;
        using var noGrad = no_grad();
        foreach (var (name, _, shadow) in items)
        {
            if (!tensors.TryGetValue(prefix + name, out var t)) throw new InvalidDataException($"the checkpoint's EMA lacks '{name}'");
            shadow.copy_(t);
        }
        updates = count.item<long>();
        return true;
    }

    /// <summary>Restarts the average at the module's current parameters.</summary>
    public void Reset()
    {
        using var noGrad = no_grad();
        foreach (var (_, p, shadow) in items) shadow.copy_(p);
        updates = 0;
    }

    /// <summary>Puts the average into the module's parameters for good (a run's next phase starts from it).</summary>
    public void Apply()
    {
        using var noGrad = no_grad();
        foreach (var (_, p, shadow) in items) p.copy_(shadow);
    }

    /// <summary>
    /// Puts the average into the module's parameters until the returned handle is disposed, which puts the trained
    /// parameters back (for evaluation and export of the averaged weights).
    /// </summary>
    public IDisposable Swapped()
    {
        List<Tensor> saved;
        using (no_grad()) saved = items.Select(i => i.Param.detach().clone().DetachFromDisposeScope()).ToList();
        Apply();
        return new Restore(items, saved);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (var (_, _, shadow) in items) shadow.Dispose();
    }

    private sealed class Restore(List<(string Name, Parameter Param, Tensor Shadow)> items, List<Tensor> saved) : IDisposable
    {
        public void Dispose()
        {
            using var noGrad = no_grad();
            for (int i = 0; i < items.Count; i++)
            {
                items[i].Param.copy_(saved[i]);
                saved[i].Dispose();
            }
        }
    }
}
