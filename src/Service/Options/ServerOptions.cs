namespace Var.Service.Options;

/// <summary>Network, message-size and shutdown settings (configuration section <c>Var:Server</c>).</summary>
public sealed class ServerOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Var:Server";

    /// <summary>TCP port of the gRPC endpoint (HTTP/2: cleartext "h2c", or TLS when <see cref="Certificate"/> is set). Default 50051.</summary>
    public int Port { get; set; } = 50051;

    /// <summary>
    /// TCP port of a cleartext HTTP/2 endpoint serving only <c>grpc.health.v1.Health</c> (every other call there is
    /// PERMISSION_DENIED): for Kubernetes gRPC probes and the container's HEALTHCHECK, which cannot speak TLS or send a
    /// token. Default 0 = none (the container image sets 50052).
    /// </summary>
    public int HealthPort { get; set; }

    /// <summary>TLS for <see cref="Port"/> (certificate and key paths as Kestrel names them); unset = cleartext.</summary>
    public CertificateOptions Certificate { get; set; } = new();

    /// <summary>Address to listen on: "any" (all interfaces, the default), "loopback", or an IP address.</summary>
    public string ListenAddress { get; set; } = "any";

    /// <summary>
    /// TCP port of the HTTP/1.1 endpoint serving the Prometheus scrape at <c>/metrics</c>. Default 9464; 0 = no
    /// separate port (the endpoint is then reachable over HTTP/2 on <see cref="Port"/> only). A second port is needed
    /// because Kestrel cannot offer HTTP/1.1 and cleartext HTTP/2 on one port.
    /// </summary>
    public int MetricsPort { get; set; } = 9464;

    /// <summary>Largest request message accepted, in bytes (default 4 MiB); larger → RESOURCE_EXHAUSTED.</summary>
    public int MaxReceiveMessageBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Largest response message sent, in bytes (default 64 MiB).</summary>
    public int MaxSendMessageBytes { get; set; } = 64 * 1024 * 1024;

    /// <summary>
    /// Seconds that queued and running work may take to finish after SIGTERM (default 30). New calls are refused with
    /// UNAVAILABLE at once; what is still unfinished after this period is cancelled with UNAVAILABLE.
    /// </summary>
    public double DrainGraceSeconds { get; set; } = 30;

    /// <summary>Throws <see cref="ArgumentException"/> for an impossible setting.</summary>
    public void Validate()
    {
        if (Port is < 0 or > 65535) throw new ArgumentException($"Var:Server:Port {Port} is not a TCP port");
        if (MetricsPort is < 0 or > 65535) throw new ArgumentException($"Var:Server:MetricsPort {MetricsPort} is not a TCP port");
        if (MetricsPort != 0 && MetricsPort == Port) throw new ArgumentException("Var:Server:MetricsPort must differ from Var:Server:Port (or be 0)");
        if (HealthPort is < 0 or > 65535) throw new ArgumentException($"Var:Server:HealthPort {HealthPort} is not a TCP port");
        if (HealthPort != 0 && (HealthPort == Port || HealthPort == MetricsPort)) throw new ArgumentException("Var:Server:HealthPort must differ from Var:Server:Port and Var:Server:MetricsPort (or be 0)");
        if (double.IsNaN(Certificate.ReloadSeconds) || Certificate.ReloadSeconds < 0) throw new ArgumentException("Var:Server:Certificate:ReloadSeconds must be ≥ 0");
        if (!Certificate.Enabled && !string.IsNullOrWhiteSpace(Certificate.KeyPath)) throw new ArgumentException("Var:Server:Certificate:KeyPath is set but Var:Server:Certificate:Path is not");
        if (MaxReceiveMessageBytes < 1024) throw new ArgumentException("Var:Server:MaxReceiveMessageBytes must be at least 1024");
        if (MaxSendMessageBytes < 1024) throw new ArgumentException("Var:Server:MaxSendMessageBytes must be at least 1024");
        if (double.IsNaN(DrainGraceSeconds) || DrainGraceSeconds < 0) throw new ArgumentException("Var:Server:DrainGraceSeconds must be ≥ 0");
    }
}
