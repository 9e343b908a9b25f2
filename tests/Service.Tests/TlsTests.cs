using System.Net;
using System.Net.Security;
using Grpc.Health.V1;
using Var.Client;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace Var.Service.Tests;

/// <summary>
/// TLS from configuration on real Kestrel sockets and a real HTTP/2 connection: a self-signed certificate made in the
/// test, trusted by the client through VarClientOptions.TrustedCertificatesPath, together with a bearer token; the
/// health-only port in cleartext; a rotated certificate served to new connections; Kestrel's own endpoint schema.
/// </summary>
public sealed class TlsTests : IDisposable
{
    private const string Token = "tls-test-token-0123456789";

    private readonly TestCertificates certificates = new();
    private readonly string tokens;

    public TlsTests()
    {
        tokens = Path.Combine(certificates.Root, "tokens");
        File.WriteAllText(tokens, Token + "\n");
    }

    private Dictionary<string, string> Tls(string cert, string key, string reloadSeconds = "30") => new()
    {
        ["Var:Server:Certificate:Path"] = cert,
        ["Var:Server:Certificate:KeyPath"] = key,
        ["Var:Server:Certificate:ReloadSeconds"] = reloadSeconds,
        ["Var:Auth:TokensPath"] = tokens,
    };

    private static VarClientOptions Options(string? trusted, string? token = Token) => new() { TrustedCertificatesPath = trusted, BearerToken = token, MaxAttempts = 1, Timeout = TimeSpan.FromSeconds(60) };

    private static async Task WaitServingAsync(VarClient client)
    {
        var until = DateTime.UtcNow.AddSeconds(60);
        while (await client.CheckHealthAsync("var.v1.Generation") != ServingStatus.Serving)
        {
            Assert.True(DateTime.UtcNow < until, "not SERVING after 60 s");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task ASelfSignedCertificateWorksEndToEndOverHttp2WithAToken()
    {
        var (cert, key, thumbprint) = certificates.SelfSigned("server", ["localhost"]);
        await using var host = await KestrelHost.StartAsync(Tls(cert, key));

        string? seen = null;
        Version? version = null;
        var handler = new SocketsHttpHandler
        {
            SslOptions =
            {
                RemoteCertificateValidationCallback = (_, c, _, errors) =>
                {
                    seen = c?.GetCertHashString();
                    return errors == SslPolicyErrors.RemoteCertificateChainErrors; // self-signed: only the chain is unknown
                },
            },
        };
        using (var observed = new VarClient(VarClient.CreateChannel($"https://localhost:{host.Port}", Options(null), new ObservingHandler(handler, r => version = r.Version)), Options(null), owns: true))
        {
            await WaitServingAsync(observed);
            Assert.Single(await observed.GenerateAsync(new RemoteRequest { Class = "coat", Count = 1, Seed = 1 }));
        }
        Assert.Equal(thumbprint, seen);
        Assert.Equal(HttpVersion.Version20, version);

        // The real client path: trust the certificate file itself (host name still checked), token in the metadata.
        foreach (var address in new[] { $"https://localhost:{host.Port}", $"https://127.0.0.1:{host.Port}" })
        {
            using var client = new VarClient(address, Options(cert));
            var images = await client.GenerateAsync(new RemoteRequest { Class = "coat", Count = 2, Seed = 11 });
            Assert.Equal([11L, 12], images.Select(i => i.Seed));
            var streamed = await client.StreamAsync(new RemoteRequest { Class = "bag", Seeds = [4, 9], Preview = true });
            Assert.Equal([4L, 9], streamed.Select(i => i.Seed));
        }

        // The token check still applies under TLS.
        using (var anonymous = new VarClient($"https://localhost:{host.Port}", Options(cert, token: null)))
            Assert.Equal(StatusCode.Unauthenticated, (await Assert.ThrowsAsync<RemoteGenerationException>(() => anonymous.ListModelsAsync())).Code);
    }

    [Fact]
    public async Task AnUntrustedOrMisnamedCertificateAndCleartextAreRefused()
    {
        var (cert, key, _) = certificates.SelfSigned("server", ["localhost"], loopbackIp: false);
        var (otherCert, _, _) = certificates.SelfSigned("other", ["localhost"]);
        await using var host = await KestrelHost.StartAsync(Tls(cert, key));

        // Not trusted at all. (A failed handshake is INTERNAL, not UNAVAILABLE: grpc-dotnet does not retry it.)
        using (var untrusted = new VarClient($"https://localhost:{host.Port}", Options(null)))
            await AssertHandshakeRefused(() => untrusted.ListModelsAsync(), "UntrustedRoot");
        // Trusting another certificate does not help.
        using (var wrongRoot = new VarClient($"https://localhost:{host.Port}", Options(otherCert)))
            await AssertHandshakeRefused(() => wrongRoot.ListModelsAsync(), "rejected by the provided RemoteCertificateValidationCallback");
        // Trusted, but reached under a name it was not issued for (127.0.0.1): the host name check is not waived.
        using (var misnamed = new VarClient($"https://127.0.0.1:{host.Port}", Options(cert)))
            await AssertHandshakeRefused(() => misnamed.ListModelsAsync(), "rejected by the provided RemoteCertificateValidationCallback");
        // Cleartext HTTP/2 to the TLS port.
        using (var cleartext = new VarClient($"http://127.0.0.1:{host.Port}", Options(null)))
            await Assert.ThrowsAsync<RemoteGenerationException>(() => cleartext.ListModelsAsync());
        // And the same certificate trusted under its own name works.
        using var good = new VarClient($"https://localhost:{host.Port}", Options(cert));
        await WaitServingAsync(good);
        Assert.NotEmpty((await good.ListModelsAsync()).Models);
    }

    private static async Task AssertHandshakeRefused(Func<Task> call, string reason)
    {
        var e = await Assert.ThrowsAsync<RemoteGenerationException>(call);
        Assert.Equal(StatusCode.Internal, e.Code);
        Assert.Contains("SSL connection could not be established", e.Message);
        Assert.True(e.Message.Contains(reason, StringComparison.Ordinal), e.Message);
    }

    [Fact]
    public async Task TheHealthPortIsCleartextAndServesOnlyHealth()
    {
        var (cert, key, _) = certificates.SelfSigned("server", ["localhost"]);
        await using var host = await KestrelHost.StartAsync(Tls(cert, key));
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{host.HealthPort}");
        var health = new Health.HealthClient(channel);
        var until = DateTime.UtcNow.AddSeconds(60);
        while ((await health.CheckAsync(new HealthCheckRequest { Service = "var.v1.Generation" })).Status != ServingStatus.Serving)
        {
            Assert.True(DateTime.UtcNow < until);
            await Task.Delay(20);
        }
        Assert.Equal(ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest { Service = "liveness" })).Status);

        var generation = new Generation.GenerationClient(channel);
        var e = await Assert.ThrowsAsync<RpcException>(() => generation.GenerateAsync(Requests.One(0, 1), new Metadata { { "authorization", "Bearer " + Token } }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, e.StatusCode);
        Assert.Equal(0, ((Var.Service.Scheduling.GenerationScheduler)host.Services.GetService(typeof(Var.Service.Scheduling.GenerationScheduler))!).QueuedImages);
    }

    [Fact]
    public async Task ARotatedCertificateIsServedToNewConnections()
    {
        var (cert, key, first) = certificates.SelfSigned("server", ["localhost"]);
        var live = Path.Combine(certificates.Root, "live.crt");
        var liveKey = Path.Combine(certificates.Root, "live.key");
        File.Copy(cert, live);
        File.Copy(key, liveKey);
        await using var host = await KestrelHost.StartAsync(Tls(live, liveKey, reloadSeconds: "0.05"));

        async Task<string?> ServedThumbprint()
        {
            string? seen = null;
            var handler = new SocketsHttpHandler { SslOptions = { RemoteCertificateValidationCallback = (_, c, _, _) => { seen = c?.GetCertHashString(); return true; } } };
            using var client = new VarClient(VarClient.CreateChannel($"https://localhost:{host.Port}", Options(null), handler), Options(null), owns: true);
            await client.CheckHealthAsync();
            return seen;
        }

        Assert.Equal(first, await ServedThumbprint());
        var (next, nextKey, second) = certificates.SelfSigned("server-next", ["localhost"]);
        File.Copy(next, live, overwrite: true);
        File.Copy(nextKey, liveKey, overwrite: true);
        var until = DateTime.UtcNow.AddSeconds(20);
        string? served;
        while ((served = await ServedThumbprint()) != second && DateTime.UtcNow < until) await Task.Delay(20);
        Assert.Equal(second, served);
    }

    [Fact]
    public async Task KestrelsOwnEndpointSchemaServesTlsToo()
    {
        var (cert, key, _) = certificates.SelfSigned("server", ["localhost"]);
        int port = KestrelHost.FreePort();
        await using var host = await KestrelHost.StartAsync(new Dictionary<string, string>
        {
            ["Kestrel:Endpoints:Grpc:Url"] = $"https://127.0.0.1:{port}",
            ["Kestrel:Endpoints:Grpc:Protocols"] = "Http2",
            ["Kestrel:Endpoints:Grpc:Certificate:Path"] = cert,
            ["Kestrel:Endpoints:Grpc:Certificate:KeyPath"] = key,
            ["Var:Auth:TokensPath"] = tokens,
        }, port);
        using var client = new VarClient($"https://localhost:{port}", Options(cert));
        await WaitServingAsync(client);
        Assert.Single(await client.GenerateAsync(new RemoteRequest { Class = "dress", Count = 1, Seed = 3 }));
    }

    /// <inheritdoc />
    public void Dispose() => certificates.Dispose();

    /// <summary>Passes requests on and reports each response (its HTTP version).</summary>
    private sealed class ObservingHandler(HttpMessageHandler inner, Action<HttpResponseMessage> observe) : DelegatingHandler(inner)
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            observe(response);
            return response;
        }
    }
}
