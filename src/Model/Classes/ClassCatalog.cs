namespace Var.Model.Classes;

/// <summary>
/// Class ids and names of a model: a request names a class by id or by any listed name (case-insensitive); an unknown
/// name raises an error that suggests the closest names.
/// </summary>
public sealed class ClassCatalog
{
    private readonly string[][] synonyms;
    private readonly Dictionary<string, int> byName = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Builds a catalog from one entry per class id; an entry may list comma-separated synonyms.</summary>
    public ClassCatalog(IReadOnlyList<string> entries)
    {
        synonyms = entries.Select(e => e.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)).ToArray();
        for (int id = 0; id < synonyms.Length; id++)
        {
            foreach (var name in synonyms[id]) byName.TryAdd(name, id);
        }
    }

    /// <summary>A catalog of <paramref name="count"/> unnamed classes (ids only; names are "class N").</summary>
    public static ClassCatalog Unnamed(int count) => new(Enumerable.Range(0, count).Select(i => $"class {i}").ToArray());

    /// <summary>Fashion-MNIST's ten classes (DESIGN.md).</summary>
    public static ClassCatalog FashionMnist { get; } = new(
        ["t-shirt, tshirt, top, t-shirt/top", "trouser, trousers, pants", "pullover, sweater", "dress", "coat",
         "sandal", "shirt", "sneaker", "bag", "ankle boot, boot"]);

    /// <summary>Number of classes.</summary>
    public int Count => synonyms.Length;

    /// <summary>Display name of class <paramref name="id"/>.</summary>
    public string NameOf(int id) => synonyms[id].Length > 0 ? synonyms[id][0] : $"class {id}";

    /// <summary>Display names by id.</summary>
    public IReadOnlyList<string> Names => Enumerable.Range(0, Count).Select(NameOf).ToArray();

    /// <summary>All names of class <paramref name="id"/>.</summary>
    public IReadOnlyList<string> SynonymsOf(int id) => synonyms[id];

    /// <summary>Resolves an id ("3") or a name ("Coat"); throws <see cref="ArgumentException"/> with suggestions otherwise.</summary>
    public int Resolve(string classText)
    {
        var text = classText.Trim();
        if (int.TryParse(text, out int id))
        {
            if (id < 0 || id >= Count) throw new ArgumentException($"class id {id} is out of range 0..{Count - 1}");
            return id;
        }
        if (byName.TryGetValue(text, out id)) return id;
        var close = Suggest(text, 3);
        throw new ArgumentException($"unknown class '{text}'" + (close.Count > 0 ? $"; did you mean {string.Join(", ", close.Select(c => $"'{c}'"))}?" : ""));
    }

    /// <summary>Up to <paramref name="max"/> names closest to <paramref name="text"/> (edit distance, prefix matches first).</summary>
    public IReadOnlyList<string> Suggest(string text, int max)
    {
        var lower = text.ToLowerInvariant();
        return byName.Keys
            .Select(n => (Name: n, Score: n.StartsWith(lower, StringComparison.OrdinalIgnoreCase) || n.Contains(lower, StringComparison.OrdinalIgnoreCase) ? 0 : EditDistance(lower, n.ToLowerInvariant())))
            .Where(x => x.Score <= Math.Max(3, lower.Length / 2))
            .OrderBy(x => x.Score).ThenBy(x => x.Name.Length).Take(max).Select(x => x.Name).ToList();
    }

    private static int EditDistance(string a, string b)
    {
        var prev = new int[b.Length + 1];
        var cur = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++) prev[j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            cur[0] = i;
            for (int j = 1; j <= b.Length; j++)
                cur[j] = Math.Min(Math.Min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            (prev, cur) = (cur, prev);
        }
        return prev[b.Length];
    }
}
