using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Var.Cli.Batch;

/// <summary>
/// The output folder of a batch: image files written atomically (a temporary name in the same folder, fsync, rename)
/// and a manifest line appended (and fsynced) only after its file is in place and the folder itself is synced (so the
/// rename is durable too). A killed run therefore leaves at most
/// temporary files (removed by the next run of the same images) and a torn last manifest line (cut off on open);
/// every manifest line names a complete file.
/// </summary>
internal sealed class BatchOutput : IDisposable
{
    /// <summary>Suffix of files being written.</summary>
    public const string TempSuffix = ".tmp";

    private readonly FileStream manifest;
    private readonly Lock gate = new();

    /// <summary>Opens (creating) <paramref name="folder"/> and its manifest <paramref name="manifestName"/> for appending.</summary>
    public BatchOutput(string folder, string manifestName)
    {
        Folder = folder;
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, manifestName);
        manifest = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        CutTornTail(manifest);
        manifest.Seek(0, SeekOrigin.End);
    }

    /// <summary>The output folder.</summary>
    public string Folder { get; }

    /// <summary>The temporary name of <paramref name="file"/> while it is written (hidden, in the same folder).</summary>
    public static string TempName(string file) => "." + file + TempSuffix;

    /// <summary>
    /// Files named by complete lines of every manifest in <paramref name="folder"/> (<c>manifest*.jsonl</c>: the
    /// unsharded one and every shard's), i.e. the images already made.
    /// </summary>
    public static HashSet<string> DoneFiles(string folder)
    {
        var done = new HashSet<string>(StringComparer.Ordinal);
        if (!Directory.Exists(folder)) return done;
        foreach (var path in Directory.EnumerateFiles(folder, "manifest*.jsonl"))
        {
            var text = File.ReadAllText(path);
            int end = text.LastIndexOf('\n');
            foreach (var line in text[..(end + 1)].Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                try
                {
                    if (JsonNode.Parse(line)?["file"]?.GetValue<string>() is { } file) done.Add(file);
                }
                catch (System.Text.Json.JsonException)
                {
                    // Not one of ours; a complete line always parses.
                }
            }
        }
        return done;
    }

    /// <summary>Deletes the temporary file of <paramref name="file"/> left by a killed run, if any.</summary>
    public void RemoveLeftover(string file)
    {
        var temp = Path.Combine(Folder, TempName(file));
        if (File.Exists(temp)) File.Delete(temp);
    }

    /// <summary>
    /// Writes <paramref name="images"/> (file name, encoded bytes, manifest line) atomically, syncs the folder, then appends their
    /// manifest lines with each file's sha256 and syncs the manifest once. Thread-safe.
    /// </summary>
    public void Write(IReadOnlyList<(string File, byte[] Data, JsonObject Line)> images)
    {
        foreach (var (file, data, _) in images)
        {
            var temp = Path.Combine(Folder, TempName(file));
            using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                stream.Write(data);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, Path.Combine(Folder, file), overwrite: true);
        }
        if (images.Count > 0) DirectorySync.Sync(Folder);
        var text = new StringBuilder();
        foreach (var (_, data, line) in images)
        {
            line["sha256"] = Convert.ToHexStringLower(SHA256.HashData(data));
            text.Append(line.ToJsonString()).Append('\n');
        }
        var bytes = Encoding.UTF8.GetBytes(text.ToString());
        lock (gate)
        {
            manifest.Write(bytes);
            manifest.Flush(flushToDisk: true);
        }
    }

    // A run killed while appending may leave a last line without its newline: drop it (its image is made again).
    private static void CutTornTail(FileStream stream)
    {
        long length = stream.Length;
        if (length == 0) return;
        stream.Seek(length - 1, SeekOrigin.Begin);
        if (stream.ReadByte() == '\n') return;
        long keep = 0;
        var buffer = new byte[1];
        for (long at = length - 2; at >= 0; at--)
        {
            stream.Seek(at, SeekOrigin.Begin);
            stream.ReadExactly(buffer);
            if (buffer[0] == '\n')
            {
                keep = at + 1;
                break;
            }
        }
        stream.SetLength(keep);
        stream.Flush(flushToDisk: true);
    }

    /// <inheritdoc />
    public void Dispose() => manifest.Dispose();
}
