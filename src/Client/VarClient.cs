using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Grpc.Net.Client.Balancer;
using Grpc.Net.Client.Configuration;
using Var.Service.V1;

namespace Var.Client;

/// <summary>
/// Typed client of the generation service: generate (unary), stream (queue position, per-scale progress with optional
/// previews, one image at a time), edit, list models. Retries on UNAVAILABLE / RESOURCE_EXHAUSTED come from the
/// channel's service-config retry policy (<see cref="VarClientOptions"/>); every call takes a deadline and a
/// cancellation token. Errors surface as <see cref="RemoteGenerationException"/> naming the status and the bad fields.
/// A bearer token and TLS trust come from <see cref="VarClientOptions"/> too; a <c>dns:///HOST:PORT</c> address
/// spreads calls round-robin over every address the name resolves to (a headless Kubernetes Service).
/// </summary>
public sealed class VarClient : IDisposable
{
    private readonly GrpcChannel? owned;
    private readonly Generation.GenerationClient client;
    private readonly Health.HealthClient health;
    private readonly VarClientOptions options;

    /// <summary>
    /// Connects to <paramref name="address"/>: "http://host:port" or "host:port" (cleartext HTTP/2), "https://host:port"
    /// (TLS), or "dns:///host:port" (every address of the name, round-robin; TLS per <see cref="VarClientOptions.UseTls"/>).
    /// </summary>
    public VarClient(string address, VarClientOptions? options = null)
        : this(CreateChannel(address, options ?? new VarClientOptions()), options, owns: true)
    {
    }

    /// <summary>Uses an existing channel (disposed with this object only when <paramref name="owns"/>); its retry policy applies.</summary>
    public VarClient(GrpcChannel channel, VarClientOptions? options = null, bool owns = false)
    {
        owned = owns ? channel : null;
        this.options = options ?? new VarClientOptions();
        var invoker = this.options.BearerToken is { Length: > 0 } token
            ? channel.Intercept(metadata =>
            {
                metadata.Add("authorization", "Bearer " + token.Trim());
                return metadata;
            })
            : channel.CreateCallInvoker();
        client = new Generation.GenerationClient(invoker);
        health = new Health.HealthClient(invoker);
    }

    /// <summary>
    /// A channel to <paramref name="address"/> with the retry policy and TLS trust of <paramref name="options"/>;
    /// <paramref name="handler"/> replaces the socket handler (in-process test servers).
    /// </summary>
    public static GrpcChannel CreateChannel(string address, VarClientOptions options, HttpMessageHandler? handler = null)
    {
        var uri = new Uri(Normalize(address));
        bool web = uri.Scheme is "http" or "https";
        var retry = new MethodConfig
        {
            Names = { MethodName.Default },
            // grpc-dotnet refuses a policy of one attempt: MaxAttempts 1 = no policy at all.
            RetryPolicy = options.MaxAttempts <= 1 ? null : new RetryPolicy
            {
                MaxAttempts = options.MaxAttempts,
                InitialBackoff = options.InitialBackoff,
                MaxBackoff = options.MaxBackoff,
                BackoffMultiplier = options.BackoffMultiplier,
                RetryableStatusCodes = { StatusCode.Unavailable, StatusCode.ResourceExhausted },
            },
        };
        var channelOptions = new GrpcChannelOptions
        {
            HttpHandler = handler ?? (options.TrustedCertificatesPath is { } trusted ? TrustingHandler(trusted) : null),
            MaxReceiveMessageSize = options.MaxReceiveMessageSize,
            MaxSendMessageSize = null,
            MaxRetryAttempts = Math.Max(1, options.MaxAttempts),
            ServiceConfig = new ServiceConfig { MethodConfigs = { retry } },
        };
        if (!web)
        {
            // dns:/// (or another resolver's scheme) does not say whether to use TLS.
            channelOptions.Credentials = options.UseTls ?? options.TrustedCertificatesPath is not null ? ChannelCredentials.SecureSsl : ChannelCredentials.Insecure;
            channelOptions.ServiceConfig.LoadBalancingConfigs.Add(new RoundRobinConfig());
            channelOptions.ServiceProvider = new ResolverProvider(new DnsResolverFactory(options.DnsRefreshInterval));
        }
        return GrpcChannel.ForAddress(uri, channelOptions);
    }

    /// <summary>The server's grpc.health.v1 status for <paramref name="service"/> ("" = the whole server, "var.v1.Generation", "liveness").</summary>
    public async Task<HealthCheckResponse.Types.ServingStatus> CheckHealthAsync(string service = "", CancellationToken cancellationToken = default)
    {
        try
        {
            DateTime? deadline = options.Timeout is { } t ? DateTime.UtcNow + t : null;
            return (await health.CheckAsync(new HealthCheckRequest { Service = service }, deadline: deadline, cancellationToken: cancellationToken)).Status;
        }
        catch (RpcException e)
        {
            throw Explain(e);
        }
    }

    // A socket handler that also trusts the certificates of one PEM file (chain built against them, host name still checked).
    private static SocketsHttpHandler TrustingHandler(string pemPath)
    {
        var trusted = new X509Certificate2Collection();
        trusted.ImportFromPemFile(pemPath);
        if (trusted.Count == 0) throw new InvalidDataException($"{pemPath} holds no PEM certificate");
        return new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            KeepAlivePingDelay = TimeSpan.FromSeconds(60),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(30),
            SslOptions = { RemoteCertificateValidationCallback = (_, certificate, chain, errors) => Trusts(trusted, certificate, chain, errors) },
        };
    }

    private static bool Trusts(X509Certificate2Collection trusted, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (errors == SslPolicyErrors.None) return true;
        // A wrong host name or no certificate at all is never rescued by the extra roots.
        if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None) return false;
        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.AddRange(trusted);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (chain is not null)
            foreach (var element in chain.ChainElements) custom.ChainPolicy.ExtraStore.Add(element.Certificate);
        using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return custom.Build(leaf);
    }

    // Gives the channel a DNS resolver that re-resolves periodically (grpc-dotnet's default resolves only on failures).
    private sealed class ResolverProvider(ResolverFactory factory) : IServiceProvider
    {
        private readonly ResolverFactory[] factories = [factory];

        public object? GetService(Type serviceType) => serviceType == typeof(IEnumerable<ResolverFactory>) ? factories : null;
    }

    /// <summary>Generates the images of <paramref name="request"/> in one unary call; in request order.</summary>
    public async Task<IReadOnlyList<RemoteImage>> GenerateAsync(RemoteRequest request, CancellationToken cancellationToken = default)
    {
        var message = ToMessage(request);
        try
        {
            var response = await client.GenerateAsync(message, deadline: Deadline(request), cancellationToken: cancellationToken);
            return response.Images.Select(FromMessage).OrderBy(i => i.Index).ToList();
        }
        catch (RpcException e)
        {
            throw Explain(e);
        }
    }

    /// <summary>
    /// Generates the images of <paramref name="request"/> over GenerateStream. <paramref name="onProgress"/> runs on
    /// the caller's context for every event; <paramref name="onImage"/> for every image as it arrives.
    /// </summary>
    public Task<IReadOnlyList<RemoteImage>> StreamAsync(RemoteRequest request, Action<RemoteProgress>? onProgress = null, CancellationToken cancellationToken = default, Action<RemoteImage>? onImage = null)
    {
        var message = ToMessage(request);
        return ReadEvents(() => client.GenerateStream(message, deadline: Deadline(request), cancellationToken: cancellationToken),
            Total(message), onProgress, onImage, cancellationToken);
    }

    /// <summary>Regenerates a region of an image (the Edit call's event stream), like <see cref="StreamAsync"/>.</summary>
    public Task<IReadOnlyList<RemoteImage>> EditAsync(RemoteEdit edit, Action<RemoteProgress>? onProgress = null, CancellationToken cancellationToken = default, Action<RemoteImage>? onImage = null)
    {
        var message = ToMessage(edit);
        return ReadEvents(() => client.Edit(message, deadline: Deadline(edit.Generation), cancellationToken: cancellationToken),
            Total(message.Generation), onProgress, onImage, cancellationToken);
    }

    private static int Total(GenerateRequest message) => message.Seeds.Count > 0 ? message.Seeds.Count : Math.Max(1, message.Count);

    private DateTime? Deadline(RemoteRequest request) => (request.Timeout ?? options.Timeout) is { } t ? DateTime.UtcNow + t : null;

    private static async Task<IReadOnlyList<RemoteImage>> ReadEvents(Func<AsyncServerStreamingCall<GenerateEvent>> start, int total,
        Action<RemoteProgress>? onProgress, Action<RemoteImage>? onImage, CancellationToken cancellationToken)
    {
        var images = new List<RemoteImage>(total);
        try
        {
            using var call = start();
            await foreach (var e in call.ResponseStream.ReadAllAsync(cancellationToken))
            {
                switch (e.EventCase)
                {
                    case GenerateEvent.EventOneofCase.Queued:
                        onProgress?.Invoke(new RemoteProgress(RemoteStage.Queued, e.Queued.Position, -1, 0, 0, total, []));
                        break;
                    case GenerateEvent.EventOneofCase.Progress:
                        var p = e.Progress;
                        onProgress?.Invoke(new RemoteProgress(RemoteStage.Scale, 0, p.Scale, p.NumScales, images.Count, total,
                            p.Previews.Select(v => (v.Index, v.Png.ToByteArray())).ToArray())
                        {
                            // Servers before the per-pass fields send neither: one pass per scale.
                            Step = Math.Max(1, p.Step),
                            NumSteps = Math.Max(1, p.NumSteps),
                        });
                        break;
                    case GenerateEvent.EventOneofCase.Result:
                        var image = FromMessage(e.Result);
                        images.Add(image);
                        onImage?.Invoke(image);
                        onProgress?.Invoke(new RemoteProgress(RemoteStage.Image, 0, -1, 0, images.Count, total, []));
                        break;
                }
            }
        }
        catch (RpcException e)
        {
            throw Explain(e);
        }
        return images.OrderBy(i => i.Index).ToList();
    }

    /// <summary>The server's models, classes and limits.</summary>
    public async Task<ListModelsResponse> ListModelsAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            DateTime? deadline = options.Timeout is { } t ? DateTime.UtcNow + t : null;
            return await client.ListModelsAsync(new ListModelsRequest(), deadline: deadline, cancellationToken: cancellationToken);
        }
        catch (RpcException e)
        {
            throw Explain(e);
        }
    }

    private static RemoteGenerationException Explain(RpcException e) =>
        new(e.StatusCode, $"server answered {e.StatusCode}: {e.Status.Detail}", e);

    /// <summary>The Edit message for <paramref name="edit"/>; throws <see cref="ArgumentException"/> for a bad mode or region.</summary>
    public static EditRequest ToMessage(RemoteEdit edit)
    {
        var m = new EditRequest
        {
            Generation = ToMessage(edit.Generation),
            Image = ByteString.CopyFrom(edit.Image),
            Feather = edit.Feather,
            Mode = edit.Mode.Trim().ToLowerInvariant() switch
            {
                "inpaint" => EditMode.Inpaint,
                "outpaint" => EditMode.Outpaint,
                "edit" or "class-edit" => EditMode.ClassEdit,
                _ => throw new ArgumentException($"unknown edit mode '{edit.Mode}' (inpaint, outpaint or edit)"),
            },
        };
        if (edit.Mask is not null && edit.Box is not null) throw new ArgumentException("an edit names a mask or a box, not both");
        if (edit.Mask is { } mask) m.MaskPng = ByteString.CopyFrom(mask);
        else if (edit.Box is { } box)
        {
            if (box.Count != 4) throw new ArgumentException("a box is x0, y0, x1, y1");
            m.Box = new Box { X0 = box[0], Y0 = box[1], X1 = box[2], Y1 = box[3] };
        }
        return m;
    }

    /// <summary>The request message for <paramref name="request"/>; throws <see cref="ArgumentException"/> for a bad decoder or format name.</summary>
    public static GenerateRequest ToMessage(RemoteRequest request)
    {
        var m = new GenerateRequest
        {
            Model = request.Model ?? "",
            MoreSmooth = request.MoreSmooth,
            Preview = request.Preview,
            RequestId = request.RequestId ?? "",
        };
        // An empty class leaves the oneof unset: unconditional (in-painting without a class).
        if (!string.IsNullOrEmpty(request.Class)) m.ClassName = request.Class;
        if (request.Seeds is { Count: > 0 } seeds) m.Seeds.AddRange(seeds);
        else m.Count = request.Count;
        if (request.Seed is { } seed) m.Seed = seed;
        if (request.Cfg is { } cfg) m.Cfg = cfg;
        if (request.TopK is { } topK) m.TopK = topK;
        if (request.TopP is { } topP) m.TopP = topP;
        switch (request.Decoder.Trim().ToLowerInvariant())
        {
            case "": break;
            case "var": m.Var = new VarDecoder(); break;
            case "code":
                m.Code = new CodeDecoder { DraftScales = request.DraftScales ?? 0, RefinerModel = request.Refiner ?? "" };
                if (request.RefinerCfg is { } refinerCfg) m.Code.RefinerCfg = refinerCfg;
                break;
            case "hmar":
                m.Hmar = new HmarDecoder();
                if (request.StepsPerScale is { } steps) m.Hmar.StepsPerScale.AddRange(steps);
                break;
            case "tts" or "tts-var" or "tts_var": m.TtsVar = new TtsVarDecoder { Budget = request.Budget ?? 0, Reward = request.Reward ?? "" }; break;
            default: throw new ArgumentException($"unknown decoder '{request.Decoder}' (use var, code, hmar or tts)");
        }
        m.Output = new OutputFormat
        {
            Encoding = request.Format.Trim().ToLowerInvariant() switch
            {
                "png" => ImageEncoding.Png,
                "jpeg" or "jpg" => ImageEncoding.Jpeg,
                "tokens" => ImageEncoding.Tokens,
                _ => throw new ArgumentException($"unknown format '{request.Format}' (use png, jpeg or tokens)"),
            },
        };
        if (request.JpegQuality is { } q) m.Output.JpegQuality = q;
        return m;
    }

    private static RemoteImage FromMessage(GeneratedImage r) => new(
        r.Index, r.Seed, r.ClassId, r.ClassName, r.MimeType, r.Data.ToByteArray(), r.Width,
        r.Tokens is { } t ? t.Scales.Select(s => s.Ids.ToArray()).ToArray() : null,
        r.Settings?.Model ?? "", r.Settings?.Decoder ?? "", r.Settings?.Cfg ?? 0, r.Settings?.TopK ?? 0, r.Settings?.TopP ?? 0,
        r.Settings?.MoreSmooth ?? false, r.Timings?.QueueMs ?? 0, r.Timings?.GenerationMs ?? 0, r.Timings?.BatchSize ?? 0)
    {
        DraftScales = r.Settings?.DraftScales ?? 0,
        RefinerCfg = r.Settings is { HasRefinerCfg: true } s ? s.RefinerCfg : null,
        Budget = r.Settings?.Budget ?? 0,
        Reward = r.Settings?.Reward ?? "",
    };

    private static string Normalize(string address) =>
        address.Contains("://", StringComparison.Ordinal) ? address : "http://" + address;

    /// <inheritdoc />
    public void Dispose() => owned?.Dispose();
}
