using System.Text.Json;

namespace Var.Deploy.Tests;

/// <summary>
/// -p:TorchBackend=cuda swaps the CPU libtorch package for the CUDA one in every project that references libtorch,
/// checked by evaluating the projects (dotnet msbuild -getItem), which restores nothing: the CUDA package cannot be
/// restored on these machines, and CI builds the CPU flavour.
/// </summary>
public sealed class CudaBuildTests
{
    private const string Cpu = "libtorch-cpu-linux-x64";
    private const string Cuda = "libtorch-cuda-12.8-linux-x64";

    private static JsonElement Evaluate(string project, params string[] extra)
    {
        var result = Tool.Run("dotnet", ["msbuild", Repo.PathOf(project), "-nologo", "-nodeReuse:false", "-getItem:PackageReference", "-getItem:PackageVersion", "-getProperty:TorchBackend", .. extra],
            TimeSpan.FromMinutes(3), environment: new Dictionary<string, string> { ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1", ["MSBUILDDISABLENODEREUSE"] = "1" });
        Assert.True(result.ExitCode == 0, result.Output);
        return JsonDocument.Parse(result.Output[result.Output.IndexOf('{')..]).RootElement;
    }

    private static List<string> References(JsonElement e) =>
        e.GetProperty("Items").GetProperty("PackageReference").EnumerateArray().Select(i => i.GetProperty("Identity").GetString()!).ToList();

    private static string Version(JsonElement e, string package) =>
        e.GetProperty("Items").GetProperty("PackageVersion").EnumerateArray().Single(i => i.GetProperty("Identity").GetString() == package).GetProperty("Version").GetString()!;

    [Theory]
    [InlineData("src/Model/Model.csproj")]
    [InlineData("src/Training/Training.csproj")]
    public void TheTorchBackendPropertySwitchesTheLibTorchPackage(string project)
    {
        var plain = Evaluate(project);
        Assert.Equal("cpu", plain.GetProperty("Properties").GetProperty("TorchBackend").GetString());
        Assert.Contains(Cpu, References(plain));
        Assert.DoesNotContain(Cuda, References(plain));

        var cuda = Evaluate(project, "-p:TorchBackend=cuda");
        Assert.Equal("cuda", cuda.GetProperty("Properties").GetProperty("TorchBackend").GetString());
        Assert.Contains(Cuda, References(cuda));
        Assert.DoesNotContain(Cpu, References(cuda));
        Assert.Contains("TorchSharp", References(cuda));
        // The same libtorch release either way (TorchSharp 0.107.0 is built against libtorch 2.10.0).
        Assert.Equal(Version(cuda, Cpu), Version(cuda, Cuda));
    }

    [Fact]
    public void NoOtherProjectReferencesTheCpuPackageDirectly()
    {
        // Everything else gets libtorch through Model or Training, so the switch in those two covers the whole build.
        foreach (var csproj in Directory.EnumerateFiles(Repo.Root, "*.csproj", SearchOption.AllDirectories).Where(p => !p.Contains("/bin/") && !p.Contains("/obj/")))
        {
            var text = File.ReadAllText(csproj);
            if (!text.Contains(Cpu, StringComparison.Ordinal)) continue;
            Assert.Contains(Path.GetFileName(csproj), new[] { "Model.csproj", "Training.csproj" });
            Assert.Contains($"Include=\"{Cuda}\" Condition=\"'$(TorchBackend)' == 'cuda'\"", text);
        }
    }

    [Fact]
    public void AnUnknownBackendIsAnError()
    {
        var result = Tool.Run("dotnet", ["msbuild", Repo.PathOf("src/Model/Model.csproj"), "-nologo", "-nodeReuse:false", "-t:CheckTorchBackend", "-p:TorchBackend=rocm"],
            TimeSpan.FromMinutes(3), environment: new Dictionary<string, string> { ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1", ["MSBUILDDISABLENODEREUSE"] = "1" });
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("TorchBackend must be cpu or cuda, not 'rocm'", result.Output);
    }
}
