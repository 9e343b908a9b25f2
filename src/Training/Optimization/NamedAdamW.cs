namespace Var.Training.Optimization;

/// <summary>
/// AdamW (decoupled weight decay) over named parameters, with its moments exposed by name so a checkpoint can store
/// and restore them exactly. Weight decay applies only to parameters the caller marks (var.md §4: none on 1-D
/// parameters, biases and embeddings of positions/levels).
/// </summary>
public sealed class NamedAdamW : IDisposable
{
    private readonly List<(string Name, Parameter Param, bool Decay)> parameters;
    private readonly Dictionary<string, (Tensor M, Tensor V)> moments = [];

    /// <summary>Creates the optimiser; <paramref name="decay"/> says which named parameters get weight decay.</summary>
    public NamedAdamW(IEnumerable<(string Name, Parameter Param)> named, Func<string, Parameter, bool> decay,
        double beta1 = 0.9, double beta2 = 0.95, double weightDecay = 0.0, double eps = 1e-8)
    {
        parameters = named.Where(p => p.Param.requires_grad).Select(p => (p.Name, p.Param, decay(p.Name, p.Param))).ToList();
        Beta1 = beta1;
        Beta2 = beta2;
        WeightDecay = weightDecay;
        Eps = eps;
        foreach (var (name, p, _) in parameters) moments[name] = (zeros_like(p).DetachFromDisposeScope(), zeros_like(p).DetachFromDisposeScope());
    }

    /// <summary>β₁.</summary>
    public double Beta1 { get; }

    /// <summary>β₂.</summary>
    public double Beta2 { get; }

    /// <summary>Decoupled weight decay coefficient.</summary>
    public double WeightDecay { get; }

    /// <summary>ε added to the denominator.</summary>
    public double Eps { get; }

    /// <summary>Number of steps taken (for bias correction).</summary>
    public long StepCount { get; private set; }

    /// <summary>Names of the parameters that get weight decay.</summary>
    public IEnumerable<string> DecayedNames => parameters.Where(p => p.Decay).Select(p => p.Name);

    /// <summary>All parameters, for gradient clipping.</summary>
    public IEnumerable<Parameter> Parameters => parameters.Select(p => p.Param);

    /// <summary>Clears every gradient.</summary>
    public void ZeroGrad()
    {
        foreach (var (_, p, _) in parameters)
        {
            using var g = p.grad;
            g?.zero_();
        }
    }

    /// <summary>One update at learning rate <paramref name="lr"/>; parameters without a gradient are skipped.</summary>
    public void Step(double lr)
    {
        StepCount++;
        double bc1 = 1 - Math.Pow(Beta1, StepCount);
        double bc2 = 1 - Math.Pow(Beta2, StepCount);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        foreach (var (name, p, decay) in parameters)
        {
            var g = p.grad;
            if (g is null) continue;
            var (m, v) = moments[name];
            if (decay && WeightDecay > 0) p.mul_(1 - lr * WeightDecay);
            m.mul_(Beta1).add_(g, alpha: 1 - Beta1);
            v.mul_(Beta2).addcmul_(g, g, value: 1 - Beta2);
            var denom = v.sqrt().div_(Math.Sqrt(bc2)).add_(Eps);
            p.addcdiv_(m, denom, value: -lr / bc1);
        }
    }

    /// <summary>Zeroes the moments of rows <paramref name="rows"/> (int64) of parameter <paramref name="name"/> (after re-initialising them).</summary>
    public void ResetRows(string name, Tensor rows)
    {
        if (!moments.TryGetValue(name, out var mv)) return;
        using var noGrad = no_grad();
        mv.M.index_fill_(0, rows, 0);
        mv.V.index_fill_(0, rows, 0);
    }

    /// <summary>The state as named tensors: "m.{name}" and "v.{name}".</summary>
    public IEnumerable<(string Key, Tensor Value)> StateItems()
    {
        foreach (var (name, (m, v)) in moments)
        {
            yield return ("m." + name, m);
            yield return ("v." + name, v);
        }
    }

    /// <summary>Restores moments and step count; every moment must be present with the right shape.</summary>
    public void LoadState(IReadOnlyDictionary<string, Tensor> items, string prefix, long stepCount)
    {
        using var noGrad = no_grad();
        foreach (var (name, (m, v)) in moments)
        {
            foreach (var (kind, target) in new[] { ("m.", m), ("v.", v) })
            {
                string key = prefix + kind + name;
                if (!items.TryGetValue(key, out var src)) throw new InvalidDataException($"optimiser state lacks '{key}'");
                if (!src.shape.SequenceEqual(target.shape)) throw new InvalidDataException($"optimiser state '{key}' has the wrong shape");
                target.copy_(src);
            }
        }
        StepCount = stepCount;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var (m, v) in moments.Values)
        {
            m.Dispose();
            v.Dispose();
        }
        moments.Clear();
    }
}
