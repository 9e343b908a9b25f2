namespace Var.Model.Checkpoints;

/// <summary>Where and how to load a model: a folder/name under weights/, or an official VQVAE + VAR pair.</summary>
public sealed record ModelSource
{
    /// <summary>A model name under weights/ or a folder holding model.json (ignored when <see cref="VarFile"/> is set).</summary>
    public string? Model { get; init; }

    /// <summary>Official VQVAE checkpoint (.pth or .safetensors).</summary>
    public string? VaeFile { get; init; }

    /// <summary>Official VAR or HMAR checkpoint (.pth or .safetensors; the layout is detected).</summary>
    public string? VarFile { get; init; }

    /// <summary>Official VAR checkpoint of a CoDe refiner (e.g. refiner_8.pth or var_d16.pth), loaded as the role "refiner".</summary>
    public string? RefinerFile { get; init; }

    /// <summary>Which transformer of a model folder is the bundle's default ("var" by default, e.g. "refiner").</summary>
    public string Role { get; init; } = ModelBundle.DefaultRole;

    /// <summary>Head-count override for checkpoints where it cannot be detected (plain attention).</summary>
    public int? NumHeads { get; init; }

    /// <summary>Scale-schedule override.</summary>
    public int[]? PatchNums { get; init; }

    /// <summary>Device to run on.</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>Transformer dtype: float32 or bfloat16.</summary>
    public string DType { get; init; } = "float32";
}
