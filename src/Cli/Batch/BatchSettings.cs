namespace Var.Cli.Batch;

/// <summary>What <c>var batch</c> was asked to do.</summary>
internal sealed record BatchSettings
{
    /// <summary>The jobs file.</summary>
    public required string JobsFile { get; init; }

    /// <summary>The output folder.</summary>
    public required string Output { get; init; }

    /// <summary>This worker's shard.</summary>
    public ShardSpec Shard { get; init; } = ShardSpec.All;

    /// <summary>Stop before any work when a line cannot run.</summary>
    public bool Strict { get; init; }

    /// <summary>Print the plan only.</summary>
    public bool DryRun { get; init; }

    /// <summary>Local engine: images per forward batch.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Server: images per call.</summary>
    public int RequestSize { get; init; } = 16;

    /// <summary>Server: calls in flight.</summary>
    public int Concurrency { get; init; } = 4;
}
