namespace Var.Service.Options;

/// <summary>Which models to load and how (configuration section <c>Var:Models</c>).</summary>
public sealed class ModelOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Var:Models";

    /// <summary>Folder holding one sub-folder per model (each with model.json); empty = $VAR_WEIGHTS or the weights/ folder found upward.</summary>
    public string? Folder { get; set; }

    /// <summary>Model used when a request names none; always loaded. Default "fmnist" (the shipped model).</summary>
    public string Default { get; set; } = "fmnist";

    /// <summary>Further models to load besides <see cref="Default"/> (names under <see cref="Folder"/> or folder paths).</summary>
    public List<string> Load { get; set; } = [];

    /// <summary>Device: "cpu" or "cuda[:n]".</summary>
    public string Device { get; set; } = "cpu";

    /// <summary>Transformer dtype: "float32" or "bfloat16".</summary>
    public string DType { get; set; } = "float32";

    /// <summary>Torch intra-op threads; 0 = torch's default (one per core).</summary>
    public int Threads { get; set; }

    /// <summary>The names to load: the default first, then the others, without duplicates.</summary>
    public IReadOnlyList<string> Names() =>
        new[] { Default }.Concat(Load).Where(n => !string.IsNullOrWhiteSpace(n)).Distinct(StringComparer.Ordinal).ToList();
}
