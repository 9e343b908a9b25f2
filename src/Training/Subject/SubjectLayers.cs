using Var.Model.Transformer;

namespace Var.Training.Subject;

/// <summary>
/// The parameter groups subject fine-tuning may tune: <c>class</c> (the new class row only), <c>ffn</c> (every block's
/// feed-forward), <c>adaln</c> (every block's and the head's AdaLN modulation), <c>attn</c> (self-attention),
/// <c>head</c> (the output projection), <c>embed</c> (word, position and level embeddings) and <c>all</c>.
/// </summary>
public static class SubjectLayers
{
    /// <summary>The known group names.</summary>
    public static readonly string[] Groups = ["class", "ffn", "adaln", "attn", "head", "embed", "all"];

    /// <summary>Checks a list of groups; the new class row is always tuned.</summary>
    public static string[] Parse(IEnumerable<string> groups)
    {
        var list = groups.Select(g => g.Trim().ToLowerInvariant()).Where(g => g.Length > 0).Distinct().ToList();
        foreach (var g in list)
        {
            if (!Groups.Contains(g)) throw new ArgumentException($"unknown layer group '{g}' (known: {string.Join(", ", Groups)})");
        }
        if (!list.Contains("class") && !list.Contains("all")) list.Insert(0, "class");
        return list.ToArray();
    }

    /// <summary>Whether parameter <paramref name="name"/> belongs to one of <paramref name="groups"/>.</summary>
    public static bool Tunes(string name, IReadOnlyCollection<string> groups) =>
        groups.Contains("all")
        || (name == ClassInsertion.ClassTable && groups.Contains("class"))
        || (name.Contains(".ffn.", StringComparison.Ordinal) && groups.Contains("ffn"))
        || (name.Contains("ada_lin", StringComparison.Ordinal) && groups.Contains("adaln"))
        || (name.Contains(".attn.", StringComparison.Ordinal) && groups.Contains("attn"))
        || (name.StartsWith("head.", StringComparison.Ordinal) && groups.Contains("head"))
        || ((name.StartsWith("word_embed", StringComparison.Ordinal) || name.StartsWith("pos_", StringComparison.Ordinal) || name.StartsWith("lvl_embed", StringComparison.Ordinal)) && groups.Contains("embed"));

    /// <summary>Freezes every parameter outside <paramref name="groups"/>; returns the number of tunable parameters.</summary>
    public static long Select(VarTransformer model, IReadOnlyCollection<string> groups)
    {
        long tuned = 0;
        foreach (var (name, p) in model.named_parameters())
        {
            p.requires_grad = Tunes(name, groups);
            if (!p.requires_grad) continue;
            // Of the class table only the new row ever learns (the other rows' gradient is masked out), also with "all":
            // the old classes and the unconditional class keep their embeddings.
            tuned += name == ClassInsertion.ClassTable ? p.shape[1] : p.numel();
        }
        return tuned;
    }
}
