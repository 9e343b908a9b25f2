using Var.Model.Checkpoints;

namespace Var.Model.Tests;

/// <summary>Locates <c>../shared/fixtures</c> beside the repository (or $VAR_FIXTURES).</summary>
public static class Fixtures
{
    /// <summary>The fixtures folder, or null when absent.</summary>
    public static string? Root { get; } = Find();

    /// <summary>Path of a file under the var-parity fixture; skips the test with a visible reason when absent.</summary>
    public static string VarParity(string name)
    {
        Skip.If(Root is null, "../shared/fixtures not found beside the repository (set VAR_FIXTURES to its path)");
        var path = Path.Combine(Root!, "var-parity", name);
        Skip.IfNot(File.Exists(path), $"fixture file {path} is absent");
        return path;
    }

    /// <summary>Path of a file under the hmar-parity fixture; skips the test with a visible reason when absent.</summary>
    public static string HmarParity(string name)
    {
        Skip.If(Root is null, "../shared/fixtures not found beside the repository (set VAR_FIXTURES to its path)");
        var path = Path.Combine(Root!, "hmar-parity", name);
        Skip.IfNot(File.Exists(path), $"fixture file {path} is absent");
        return path;
    }

    /// <summary>The expected tensors of the var-parity fixture.</summary>
    public static StateDict Expected() => StateDict.Read(VarParity("expected.safetensors"));

    private static string? Find()
    {
        var env = Environment.GetEnvironmentVariable("VAR_FIXTURES");
        if (!string.IsNullOrEmpty(env) && Directory.Exists(env)) return env;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Var.sln")))
            {
                var candidate = Path.Combine(dir.FullName, "..", "shared", "fixtures");
                return Directory.Exists(candidate) ? Path.GetFullPath(candidate) : null;
            }
        }
        return null;
    }
}
