namespace Var.Service.Options;

/// <summary>
/// The gRPC port's TLS certificate (<c>Var:Server:Certificate</c>), with the keys Kestrel uses for a certificate
/// file: <see cref="Path"/> and <see cref="KeyPath"/> (PEM, e.g. a Kubernetes TLS secret's tls.crt and tls.key), or
/// <see cref="Path"/> alone (a PEM file holding the key too, or a .pfx/.p12) with an optional <see cref="Password"/>.
/// </summary>
public sealed class CertificateOptions
{
    /// <summary>Certificate file: PEM (the server certificate first, then any intermediates) or PKCS#12 (.pfx/.p12). Empty = cleartext HTTP/2 (h2c).</summary>
    public string? Path { get; set; }

    /// <summary>PEM private key file (empty = the key is in <see cref="Path"/>).</summary>
    public string? KeyPath { get; set; }

    /// <summary>Password of an encrypted PEM key or of a PKCS#12 file.</summary>
    public string? Password { get; set; }

    /// <summary>Seconds between checks of the files for new content (cert-manager or a secret rotation applies to new connections without a restart). 0 = read once. Default 30.</summary>
    public double ReloadSeconds { get; set; } = 30;

    /// <summary>True when TLS is configured.</summary>
    public bool Enabled => !string.IsNullOrWhiteSpace(Path);
}
