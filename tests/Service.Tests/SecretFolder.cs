namespace Var.Service.Tests;

/// <summary>
/// A folder laid out the way the kubelet mounts a Secret: each key is a symlink KEY → ..data/KEY, ..data a symlink to
/// a hidden timestamped folder holding the files; an update writes a new timestamped folder and swaps ..data in one
/// rename, so readers see either the old or the new files, never a mix.
/// </summary>
public sealed class SecretFolder : IDisposable
{
    private int version;

    /// <summary>A new mount holding <paramref name="files"/> (key → content).</summary>
    public SecretFolder(IReadOnlyDictionary<string, string> files)
    {
        Root = Path.Combine(Path.GetTempPath(), "var-secret-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Root);
        Update(files);
    }

    /// <summary>The mount point.</summary>
    public string Root { get; }

    /// <summary>Replaces the Secret's content atomically, as a Secret update does.</summary>
    public void Update(IReadOnlyDictionary<string, string> files)
    {
        var stamp = $"..2030_01_01_00_00_{version++:D2}.{Guid.NewGuid().ToString("N")[..6]}";
        var folder = Path.Combine(Root, stamp);
        Directory.CreateDirectory(folder);
        foreach (var (key, content) in files) File.WriteAllText(Path.Combine(folder, key), content);
        var data = Path.Combine(Root, "..data");
        var old = Directory.Exists(data) ? new DirectoryInfo(data).LinkTarget : null;
        var next = Path.Combine(Root, "..data_tmp");
        File.CreateSymbolicLink(next, stamp);
        // rename(2) of the new link over the old one, the atomic step (File.Move follows links).
        using (var mv = System.Diagnostics.Process.Start("mv", ["-T", "-f", next, data])) mv.WaitForExit();
        foreach (var key in files.Keys)
        {
            var link = Path.Combine(Root, key);
            if (!File.Exists(link) && new FileInfo(link).LinkTarget is null) File.CreateSymbolicLink(link, Path.Combine("..data", key));
        }
        if (old is not null) Directory.Delete(Path.Combine(Root, old), recursive: true);
    }

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
