namespace Var.Cli.Batch;

/// <summary>What a run did: images written, and the jobs that failed (line number → first error).</summary>
internal sealed class BatchOutcome
{
    private readonly Dictionary<int, string> failures = [];
    private readonly Lock gate = new();
    private int written;

    /// <summary>Images written (file and manifest line).</summary>
    public int Written => written;

    /// <summary>Failed jobs by line number, with the first error each met.</summary>
    public IReadOnlyDictionary<int, string> Failures
    {
        get
        {
            lock (gate) return new SortedDictionary<int, string>(failures);
        }
    }

    /// <summary>Counts written images.</summary>
    public void AddWritten(int images) => Interlocked.Add(ref written, images);

    /// <summary>Records that job line <paramref name="line"/> failed (the first message is kept).</summary>
    public void Fail(int line, string message)
    {
        lock (gate) failures.TryAdd(line, message);
    }
}
