namespace Var.Cli.Batch;

/// <summary>A job line that cannot run, with its 1-based line number and why.</summary>
internal sealed record JobLineError(int Line, string Message)
{
    /// <inheritdoc />
    public override string ToString() => $"line {Line}: {Message}";
}
