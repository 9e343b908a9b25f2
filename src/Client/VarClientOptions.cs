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

    /// <summary>
    /// Bearer token sent with every call as <c>authorization: Bearer TOKEN</c>, for a server with a token check
    /// (<c>Var:Auth:TokensPath</c>); null = none. Over a cleartext (http://) address it travels unencrypted: use
    /// https:// or a mesh that encrypts the pod network.
    /// </summary>
    public string? BearerToken { get; init; }

    /// <summary>
    /// PEM file of certificates to trust for the server besides the system's roots: a private CA (e.g. a Kubernetes
    /// TLS secret's ca.crt) or the server's own self-signed certificate. Host names are still checked. null = system roots only.
    /// </summary>
    public string? TrustedCertificatesPath { get; init; }

    /// <summary>
    /// TLS for a <c>dns:///</c> address (http:// and https:// say it themselves). null = TLS exactly when
    /// <see cref="TrustedCertificatesPath"/> is set.
    /// </summary>
    public bool? UseTls { get; init; }

    /// <summary>
    /// How often a <c>dns:///HOST:PORT</c> address is resolved again (a headless Kubernetes Service: every replica's
    /// address, calls spread round-robin over them; new replicas join within this interval).
    /// </summary>
    public TimeSpan DnsRefreshInterval { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// The token in <paramref name="path"/>: its first line that is neither blank nor a '#' comment, trimmed (the
    /// format of the server's token files, so one line of a mounted secret works on both sides).
    /// Throws <see cref="InvalidDataException"/> when there is none.
    /// </summary>
    public static string ReadTokenFile(string path) =>
        File.ReadLines(path).Select(l => l.Trim()).FirstOrDefault(l => l.Length > 0 && !l.StartsWith('#'))
        ?? throw new InvalidDataException($"{path} holds no token");
}
