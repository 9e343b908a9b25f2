using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Var.Service.V1;

namespace Var.Cli.Remote;

/// <summary>
/// Client of a generation server (<c>var generate --server http://HOST:PORT</c>): sends one request over
/// GenerateStream and returns its images, reporting queue position, scales (with previews) and images as they come.
/// </summary>
public sealed class RemoteGenerator : IDisposable
{
    private readonly GrpcChannel? owned;
    private readonly Generation.GenerationClient client;

    /// <summary>Connects to <paramref name="address"/> ("http://host:port"; cleartext HTTP/2).</summary>
    public RemoteGenerator(string address)
        : this(GrpcChannel.ForAddress(Normalize(address), new GrpcChannelOptions { MaxReceiveMessageSize = 64 * 1024 * 1024 }), owns: true)
    {
    }

    /// <summary>Uses an existing channel (not disposed by this object unless <paramref name="owns"/>).</summary>
    public RemoteGenerator(GrpcChannel channel, bool owns = false)
    {
        owned = owns ? channel : null;
        client = new Generation.GenerationClient(channel);
    }

    /// <summary>
    /// Generates the images of <paramref name="request"/>. <paramref name="onProgress"/> runs on the caller's
    /// context for every event. Throws <see cref="RemoteGenerationException"/> when the server refuses or fails.
    /// </summary>
    public async Task<IReadOnlyList<RemoteImage>> GenerateAsync(RemoteRequest request, Action<RemoteProgress>? onProgress = null, CancellationToken cancellationToken = default)
    {
        var message = ToMessage(request);
        int total = message.Seeds.Count > 0 ? message.Seeds.Count : Math.Max(1, message.Count);
        var images = new List<RemoteImage>(total);
        DateTime? deadline = request.Timeout is { } t ? DateTime.UtcNow + t : null;
        try
        {
            using var call = client.GenerateStream(message, deadline: deadline, cancellationToken: cancellationToken);
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
                            p.Previews.Select(v => (v.Index, v.Png.ToByteArray())).ToArray()));
                        break;
                    case GenerateEvent.EventOneofCase.Result:
                        images.Add(FromMessage(e.Result));
                        onProgress?.Invoke(new RemoteProgress(RemoteStage.Image, 0, -1, 0, images.Count, total, []));
                        break;
                }
            }
        }
        catch (RpcException e)
        {
            throw new RemoteGenerationException(e.StatusCode, $"server answered {e.StatusCode}: {e.Status.Detail}", e);
        }
        return images.OrderBy(i => i.Index).ToList();
    }

    /// <summary>The server's models, classes and limits.</summary>
    public async Task<ListModelsResponse> ListModelsAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return await client.ListModelsAsync(new ListModelsRequest(), cancellationToken: cancellationToken);
        }
        catch (RpcException e)
        {
            throw new RemoteGenerationException(e.StatusCode, $"server answered {e.StatusCode}: {e.Status.Detail}", e);
        }
    }

    /// <summary>The request message for <paramref name="request"/>; throws <see cref="ArgumentException"/> for a bad decoder or format name.</summary>
    public static GenerateRequest ToMessage(RemoteRequest request)
    {
        var m = new GenerateRequest
        {
            Model = request.Model ?? "",
            ClassName = request.Class,
            MoreSmooth = request.MoreSmooth,
            Preview = request.Preview,
            RequestId = request.RequestId ?? "",
        };
        if (request.Seeds is { Count: > 0 } seeds) m.Seeds.AddRange(seeds);
        else m.Count = request.Count;
        if (request.Seed is { } seed) m.Seed = seed;
        if (request.Cfg is { } cfg) m.Cfg = cfg;
        if (request.TopK is { } topK) m.TopK = topK;
        if (request.TopP is { } topP) m.TopP = topP;
        switch (request.Decoder.Trim().ToLowerInvariant())
        {
            case "var": m.Var = new VarDecoder(); break;
            case "code":
                m.Code = new CodeDecoder { DraftScales = request.DraftScales ?? 0, RefinerModel = request.Refiner ?? "" };
                if (request.RefinerCfg is { } refinerCfg) m.Code.RefinerCfg = refinerCfg;
                break;
            case "hmar": m.Hmar = new HmarDecoder(); break;
            case "tts" or "tts-var" or "tts_var": m.TtsVar = new TtsVarDecoder(); break;
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
    };

    private static string Normalize(string address) =>
        address.Contains("://", StringComparison.Ordinal) ? address : "http://" + address;

    /// <inheritdoc />
    public void Dispose() => owned?.Dispose();
}
