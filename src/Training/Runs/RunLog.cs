namespace Var.Training.Runs;

/// <summary>Writes progress lines, time-stamped, to a caller's sink (usually stdout) and to a run's log file.</summary>
public sealed class RunLog : IDisposable
{
    private readonly Action<string>? sink;
    private readonly StreamWriter? file;

    /// <summary>Opens (appends to) <paramref name="path"/> when given, and forwards every line to <paramref name="sink"/>.</summary>
    public RunLog(string? path, Action<string>? sink)
    {
        this.sink = sink;
        if (path is not null)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            file = new StreamWriter(path, append: true) { AutoFlush = true };
        }
    }

    /// <summary>Writes one line.</summary>
    public void Line(string message)
    {
        string line = $"{DateTime.Now:HH:mm:ss} {message}";
        sink?.Invoke(line);
        file?.WriteLine(line);
    }

    /// <inheritdoc />
    public void Dispose() => file?.Dispose();
}
