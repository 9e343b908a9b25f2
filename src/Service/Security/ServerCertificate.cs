using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Options;
using Var.Service.Options;

namespace Var.Service.Security;

/// <summary>
/// The gRPC port's TLS certificate from <see cref="ServerOptions.Certificate"/> (PEM certificate + key, a PEM with
/// both, or PKCS#12), with its intermediates sent in the handshake, ALPN h2, and the files re-read when their content
/// changes (new connections get the new certificate; open ones keep theirs).
/// </summary>
public sealed class ServerCertificate
{
    private readonly ReloadingFiles<SslStreamCertificateContext>? context;

    /// <summary>Loads the certificate now when one is configured; throws <see cref="InvalidOperationException"/> naming the file otherwise.</summary>
    public ServerCertificate(IOptions<ServerOptions> options, ILogger<ServerCertificate> logger)
    {
        var o = options.Value.Certificate;
        if (!o.Enabled) return;
        var files = new[] { o.Path!, o.KeyPath }.Where(f => !string.IsNullOrWhiteSpace(f)).Select(f => System.IO.Path.GetFullPath(f!)).ToArray();
        try
        {
            context = new ReloadingFiles<SslStreamCertificateContext>("TLS certificate", () => files, _ => Load(o), TimeSpan.FromSeconds(o.ReloadSeconds), logger);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or InvalidDataException or ArgumentException)
        {
            throw new InvalidOperationException($"Var:Server:Certificate ({string.Join(", ", files)}): {e.Message}", e);
        }
        var leaf = context.Current.TargetCertificate;
        logger.LogInformation("TLS on the gRPC port: {Subject} (thumbprint {Thumbprint}), valid until {NotAfter:u}", leaf.Subject, leaf.Thumbprint, leaf.NotAfter.ToUniversalTime());
    }

    /// <summary>True when the gRPC port speaks TLS.</summary>
    public bool Enabled => context is not null;

    /// <summary>The certificate now in use (null without TLS).</summary>
    public X509Certificate2? Current => context?.Current.TargetCertificate;

    /// <summary>Handshake options for one new connection: the current certificate and its chain, HTTP/2 by ALPN.</summary>
    public SslServerAuthenticationOptions AuthenticationOptions() => new()
    {
        ServerCertificateContext = (context ?? throw new InvalidOperationException("no certificate configured")).Current,
        ApplicationProtocols = [SslApplicationProtocol.Http2],
        ClientCertificateRequired = false,
    };

    /// <summary>Reads <paramref name="o"/>'s files the way Kestrel reads a certificate's Path, KeyPath and Password.</summary>
    public static SslStreamCertificateContext Load(CertificateOptions o)
    {
        var path = o.Path!;
        var password = string.IsNullOrEmpty(o.Password) ? null : o.Password;
        X509Certificate2 leaf;
        var intermediates = new X509Certificate2Collection();
        bool pem = !string.IsNullOrWhiteSpace(o.KeyPath) || File.ReadAllText(path).Contains("-----BEGIN", StringComparison.Ordinal);
        if (pem)
        {
            var keyPath = string.IsNullOrWhiteSpace(o.KeyPath) ? null : o.KeyPath;
            leaf = password is null ? X509Certificate2.CreateFromPemFile(path, keyPath) : X509Certificate2.CreateFromEncryptedPemFile(path, password, keyPath);
            var all = new X509Certificate2Collection();
            all.ImportFromPemFile(path);
            foreach (var c in all.Skip(1)) intermediates.Add(c);
        }
        else
        {
            var all = X509CertificateLoader.LoadPkcs12CollectionFromFile(path, password);
            leaf = all.FirstOrDefault(c => c.HasPrivateKey) ?? throw new InvalidDataException($"{path} holds no certificate with a private key");
            foreach (var c in all.Where(c => !ReferenceEquals(c, leaf))) intermediates.Add(c);
        }
        if (!leaf.HasPrivateKey) throw new InvalidDataException($"{path}: the certificate has no private key (set KeyPath)");
        // offline: never fetch missing intermediates from the network at start.
        return SslStreamCertificateContext.Create(leaf, intermediates, offline: true);
    }
}
