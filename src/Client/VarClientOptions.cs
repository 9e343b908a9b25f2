namespace Var.Client;

/// <summary>
/// How a <see cref="VarClient"/> retries and times out. Retries are grpc-dotnet's own retry policy in the channel's
/// service config: exponential backoff from <see cref="InitialBackoff"/> to <see cref="MaxBackoff"/>, each wait drawn
/// uniformly below the current backoff (jitter), on UNAVAILABLE and RESOURCE_EXHAUSTED only, and never once a
/// response has started (a committed call is not replayed).
/// </summary>
public sealed record VarClientOptions
{
    /// <summary>Attempts per call, the first included (1 = no retries).</summary>
    public int MaxAttempts { get; init; } = 6;

    /// <summary>Backoff before the first retry.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Longest backoff between two attempts.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Backoff growth per attempt.</summary>
    public double BackoffMultiplier { get; init; } = 2;

    /// <summary>Deadline of each call (all its attempts together) unless the request names its own; null = none.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>Largest response message accepted.</summary>
    public int MaxReceiveMessageSize { get; init; } = 64 * 1024 * 1024;
}
