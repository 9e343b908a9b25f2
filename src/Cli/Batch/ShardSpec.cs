using System.Globalization;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Var.Cli.Batch;

/// <summary>
/// Which part of a batch this worker makes: shard <see cref="Index"/> of <see cref="Count"/> (0-based). An image
/// belongs to the shard given by a stable hash of its file name, so N workers make exactly the images of one worker,
/// and adding a job line never moves the images of the others to another shard.
/// </summary>
internal readonly record struct ShardSpec(int Index, int Count)
{
    /// <summary>Kubernetes Indexed Job: the worker's index.</summary>
    public const string IndexVariable = "JOB_COMPLETION_INDEX";

    /// <summary>The number of shards, set in the Job's environment (Kubernetes does not pass the completions count itself).</summary>
    public const string CountVariable = "JOB_COMPLETIONS";

    /// <summary>The whole batch.</summary>
    public static ShardSpec All => new(0, 1);

    /// <summary>Whether <paramref name="file"/> belongs to this shard.</summary>
    public bool Holds(string file) => Count == 1 || (int)(BinaryPrimitives.ReadUInt64LittleEndian(SHA256.HashData(Encoding.UTF8.GetBytes(file))) % (ulong)Count) == Index;

    /// <summary>
    /// "I/N" from <c>--shard</c>, else <see cref="IndexVariable"/> with <see cref="CountVariable"/> from
    /// <paramref name="environment"/>, else the whole batch; throws <see cref="ArgumentException"/> for a bad value.
    /// </summary>
    public static ShardSpec Resolve(string? option, Func<string, string?> environment)
    {
        if (option is not null)
        {
            var parts = option.Split('/');
            if (parts.Length != 2 || !int.TryParse(parts[0], CultureInfo.InvariantCulture, out int i) || !int.TryParse(parts[1], CultureInfo.InvariantCulture, out int n))
                throw new ArgumentException($"--shard '{option}' is not I/N (e.g. 0/4)");
            return Checked(i, n, "--shard");
        }
        if (environment(IndexVariable) is { Length: > 0 } index)
        {
            if (environment(CountVariable) is not { Length: > 0 } count)
                throw new ArgumentException($"{IndexVariable} is set but {CountVariable} (the number of shards) is not");
            if (!int.TryParse(index, CultureInfo.InvariantCulture, out int i) || !int.TryParse(count, CultureInfo.InvariantCulture, out int n))
                throw new ArgumentException($"{IndexVariable}='{index}' / {CountVariable}='{count}' are not integers");
            return Checked(i, n, $"{IndexVariable}/{CountVariable}");
        }
        return All;
    }

    private static ShardSpec Checked(int i, int n, string what) =>
        n >= 1 && i >= 0 && i < n ? new ShardSpec(i, n) : throw new ArgumentException($"{what}: shard {i} of {n} is out of range (0 ≤ I < N)");

    /// <summary>The manifest this shard appends to: <c>manifest.jsonl</c>, or one per shard so that workers sharing a folder never write one file.</summary>
    public string ManifestName => Count == 1 ? "manifest.jsonl" : $"manifest-shard{Index}-of{Count}.jsonl";

    /// <inheritdoc />
    public override string ToString() => $"{Index}/{Count}";
}
