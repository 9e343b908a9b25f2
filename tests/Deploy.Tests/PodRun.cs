using System.Security.Cryptography;
using System.Text.RegularExpressions;
using k8s.Models;

namespace Var.Deploy.Tests;

/// <summary>
/// Runs a manifest's container command on this machine the way the kubelet would in the image: its environment (the
/// image's ENV first, then the container's), $(VAR) references in args expanded, volume mount paths mapped to local
/// folders, the image's `var` wrapper as `dotnet var.dll` from this bin, /app/weights as the repository's weights/.
/// </summary>
public sealed partial class PodRun(V1Container container, IReadOnlyDictionary<string, string> mounts)
{
    /// <summary>The environment the container sees (image ENV, then its own; the image's paths mapped here).</summary>
    public Dictionary<string, string> Environment(IReadOnlyDictionary<string, string>? extra = null)
    {
        var env = DockerfileTests.RuntimeEnv();
        env["VAR_WEIGHTS"] = Repo.PathOf("weights");
        foreach (var (k, v) in Manifests.Env(container)) env[k] = Map(v);
        foreach (var (k, v) in extra ?? new Dictionary<string, string>()) env[k] = v;
        return env;
    }

    /// <summary>The command line: the program and its arguments, expanded and mapped.</summary>
    public (string File, List<string> Args) CommandLine(IReadOnlyDictionary<string, string> env)
    {
        var command = (container.Command ?? []).Concat(container.Args ?? []).Select(a => Map(Expand(a, env))).ToList();
        Assert.Equal("var", command[0]);
        return ("dotnet", [Repo.Program("var.dll"), .. command.Skip(1)]);
    }

    /// <summary>Runs the container's command to completion.</summary>
    public Tool.Result Run(IReadOnlyDictionary<string, string>? extraEnv = null, TimeSpan? timeout = null)
    {
        var env = Environment(extraEnv);
        var (file, args) = CommandLine(env);
        return Tool.Run(file, args, timeout ?? TimeSpan.FromMinutes(10), AppContext.BaseDirectory, env);
    }

    /// <summary>Kubernetes' expansion of $(NAME) in command and args from the container's environment; $$ is a literal $.</summary>
    public static string Expand(string text, IReadOnlyDictionary<string, string> env) =>
        Reference().Replace(text, m => m.Value == "$$" ? "$" : env.TryGetValue(m.Groups[1].Value, out var v) ? v : m.Value);

    private string Map(string value)
    {
        foreach (var (mountPath, local) in mounts.OrderByDescending(m => m.Key.Length))
            if (value == mountPath || value.StartsWith(mountPath + "/", StringComparison.Ordinal)) return local + value[mountPath.Length..];
        return value;
    }

    /// <summary>Every file in <paramref name="folder"/> except manifests, by name → sha256.</summary>
    public static SortedDictionary<string, string> Images(string folder) => new(
        Directory.EnumerateFiles(folder).Where(p => !Path.GetFileName(p).StartsWith("manifest", StringComparison.Ordinal))
            .ToDictionary(p => Path.GetFileName(p), p => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(p)))), StringComparer.Ordinal);

    [GeneratedRegex(@"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)")]
    private static partial Regex Reference();
}
