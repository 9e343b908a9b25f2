using Var.Decoding.Core;

namespace Var.Decoding.Tests.Decoders;

/// <summary>The parity fixtures (../shared/fixtures beside the repository, or $VAR_FIXTURES) and their float tolerance.</summary>
internal static class ParityFixture
{
    /// <summary>What a correct float32 port reaches on every fixture tensor.</summary>
    public const double Tolerance = 1e-4;

    /// <summary>Path of fixture file <paramref name="name"/> in <paramref name="folder"/>; skips the test when absent.</summary>
    public static string File(string folder, string name)
    {
        string? root = null;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null && root is null; dir = dir.Parent)
            if (System.IO.File.Exists(Path.Combine(dir.FullName, "Var.sln"))) root = Path.Combine(dir.FullName, "..", "shared", "fixtures");
        var env = Environment.GetEnvironmentVariable("VAR_FIXTURES");
        if (!string.IsNullOrEmpty(env)) root = env;
        var path = root is null ? name : Path.Combine(root, folder, name);
        Skip.IfNot(System.IO.File.Exists(path), $"fixture file {path} is absent (../shared/fixtures beside the repository, or VAR_FIXTURES)");
        return path;
    }

    /// <summary>Same shape and every element within <see cref="Tolerance"/>.</summary>
    public static void AssertClose(Tensor expected, Tensor actual, string name)
    {
        Assert.Equal(expected.shape, actual.shape);
        double diff = (expected.to(ScalarType.Float64) - actual.to(ScalarType.Float64)).abs().max().item<double>();
        Assert.True(diff <= Tolerance, $"{name}: max abs diff {diff:E3} > {Tolerance:E0}");
    }

    /// <summary>
    /// Forces the fixture's ground-truth tokens (the official runs were fed them instead of samples) but reports none
    /// as forced, so the gumbel mix and HMAR's re-masking treat them as drawn.
    /// </summary>
    public sealed class GroundTruthTokens(IReadOnlyDictionary<string, Tensor> e) : ITokenConstraint
    {
        public (Tensor IdxBl, Tensor? ForcedBl) Apply(DecodingSession session, int si, Tensor idxBl) => (e[$"vae.idx.{si}"].to(ScalarType.Int64), null);
    }

    /// <summary>Runs an action after every scale.</summary>
    public sealed class AfterEachScale(Action<DecodingSession, int> action) : IScaleHook
    {
        public void AfterScale(DecodingSession session, int si) => action(session, si);
    }
}
