using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Var.Service.Tests;

/// <summary>Self-signed server certificates made in the test (CertificateRequest), written as PEM certificate + PEM key.</summary>
public sealed class TestCertificates : IDisposable
{
    /// <summary>A new empty folder.</summary>
    public TestCertificates()
    {
        Root = Path.Combine(Path.GetTempPath(), "var-tls-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Root);
    }

    /// <summary>The folder.</summary>
    public string Root { get; }

    /// <summary>
    /// A self-signed TLS server certificate for <paramref name="dnsNames"/> (and 127.0.0.1 when <paramref name="loopbackIp"/>),
    /// written to NAME.crt and NAME.key; returns the paths and the certificate's thumbprint.
    /// </summary>
    public (string Cert, string Key, string Thumbprint) SelfSigned(string name, string[] dnsNames, bool loopbackIp = true)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        foreach (var dns in dnsNames) san.AddDnsName(dns);
        if (loopbackIp) san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        var cert = Path.Combine(Root, name + ".crt");
        var keyFile = Path.Combine(Root, name + ".key");
        File.WriteAllText(cert, certificate.ExportCertificatePem());
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
        return (cert, keyFile, certificate.Thumbprint);
    }

    /// <summary>One PEM file holding the certificates of <paramref name="certs"/> (a trust bundle).</summary>
    public string Bundle(string name, params string[] certs)
    {
        var path = Path.Combine(Root, name);
        File.WriteAllText(path, string.Concat(certs.Select(File.ReadAllText)));
        return path;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
