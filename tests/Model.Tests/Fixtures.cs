using Var.Model.Checkpoints;
using Var.Model.Vqvae;

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

    /// <summary>What a correct float32 port reaches on every fixture tensor.</summary>
    public const double Tolerance = 1e-4;

    /// <summary>The var-parity VQVAE (shared by the hmar-parity fixture) on the fixtures' schedule 1, 2, 3, 4.</summary>
    public static MultiScaleVqvae VarParityVae()
    {
        using var sd = StateDict.Read(VarParity("vae.pth"));
        var vae = new MultiScaleVqvae(ConfigDetector.DetectVqvae(sd, [1, 2, 3, 4]));
        sd.LoadInto(vae, tolerated: new HashSet<string> { "quantize.ema_vocab_hit_SV" });
        vae.eval();
        return vae;
    }

    /// <summary>Same shape and every element within <see cref="Tolerance"/>.</summary>
    public static void AssertClose(Tensor expected, Tensor actual, string name)
    {
        Assert.Equal(expected.shape, actual.shape);
        double diff = (expected.to(ScalarType.Float64) - actual.to(ScalarType.Float64)).abs().max().item<double>();
        Assert.True(diff <= Tolerance, $"{name}: max abs diff {diff:E3} > {Tolerance:E0}");
    }

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
