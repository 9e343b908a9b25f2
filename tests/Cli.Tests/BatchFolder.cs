using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Var.Model.Checkpoints;

namespace Var.Cli.Tests;

/// <summary>A temporary folder for a jobs file and batch outputs, and what a finished output folder holds.</summary>
public sealed class BatchFolder : IDisposable
{
    /// <summary>A new empty folder.</summary>
    public BatchFolder()
    {
        Root = Path.Combine(Path.GetTempPath(), "var-batch-tests-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Root);
    }

    /// <summary>The folder.</summary>
    public string Root { get; }

    /// <summary>Writes <paramref name="lines"/> as a jobs file and returns its path.</summary>
    public string Jobs(params string[] lines)
    {
        var path = Path.Combine(Root, "jobs.jsonl");
        File.WriteAllLines(path, lines);
        return path;
    }

    /// <summary>A path under the folder.</summary>
    public string PathOf(string name) => Path.Combine(Root, name);

    /// <summary>The shipped model's source (weights/fmnist, float32 CPU).</summary>
    public static ModelSource Fmnist => new() { Model = "fmnist" };

    /// <summary>Every file in <paramref name="folders"/> except manifests, by name → sha256 (a name twice is an error).</summary>
    public static SortedDictionary<string, string> Images(params string[] folders)
    {
        var images = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var folder in folders)
            foreach (var path in Directory.EnumerateFiles(folder).Where(p => !Path.GetFileName(p).StartsWith("manifest", StringComparison.Ordinal)))
                images.Add(Path.GetFileName(path), Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))));
        return images;
    }

    /// <summary>Every complete manifest line of <paramref name="folders"/> (all manifest*.jsonl; a killed run's torn last line is not one).</summary>
    public static List<JsonObject> ManifestLines(params string[] folders) =>
        folders.SelectMany(f => Directory.EnumerateFiles(f, "manifest*.jsonl"))
            .Select(File.ReadAllText).SelectMany(t => t[..(t.LastIndexOf('\n') + 1)].Split('\n', StringSplitOptions.RemoveEmptyEntries))
            .Select(l => (JsonObject)JsonNode.Parse(l)!).ToList();

    /// <inheritdoc />
    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
