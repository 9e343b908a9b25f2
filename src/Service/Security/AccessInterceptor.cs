using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Options;
using Var.Service.Options;

namespace Var.Service.Security;

/// <summary>
/// Who may call what, before a call reaches its service (so a refused call never queues work): on the health port
/// only <c>grpc.health.v1.Health</c> answers (PERMISSION_DENIED otherwise); with <see cref="AuthOptions.TokensPath"/>
/// set, every call except health and reflection needs <c>authorization: Bearer TOKEN</c> with an accepted token, else
/// UNAUTHENTICATED. Runs inside <see cref="Services.CallInterceptor"/>, so refusals are counted by status code.
/// </summary>
public sealed class AccessInterceptor(TokenStore tokens, IOptions<ServerOptions> server, ILogger<AccessInterceptor> logger) : Interceptor
{
    /// <summary>The health service's name.</summary>
    public const string HealthService = "grpc.health.v1.Health";

    /// <summary>Services that answer without a token: health (probes, load balancers) and reflection (tools such as grpcurl).</summary>
    public static readonly IReadOnlySet<string> OpenServices = new HashSet<string>(StringComparer.Ordinal)
    {
        HealthService, "grpc.reflection.v1alpha.ServerReflection", "grpc.reflection.v1.ServerReflection",
    };

    /// <inheritdoc />
    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(request, context);
    }

    /// <inheritdoc />
    public override Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(request, responseStream, context);
    }

    /// <inheritdoc />
    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(requestStream, context);
    }

    /// <inheritdoc />
    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(requestStream, responseStream, context);
    }

    private void Check(ServerCallContext context)
    {
        var service = ServiceOf(context.Method);
        int healthPort = server.Value.HealthPort;
        if (healthPort != 0 && service != HealthService && context.GetHttpContext().Connection.LocalPort == healthPort)
            throw new RpcException(new Status(StatusCode.PermissionDenied, $"port {healthPort} serves only {HealthService}; call {service} on port {server.Value.Port}"));
        if (!tokens.Enabled || OpenServices.Contains(service)) return;
        var header = context.RequestHeaders.GetValue("authorization");
        string? problem = header switch
        {
            null => "missing bearer token (send the metadata 'authorization: Bearer TOKEN')",
            _ when !header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) => "the authorization metadata is not 'Bearer TOKEN'",
            _ when !tokens.Accepts(header["Bearer ".Length..].Trim()) => "bearer token not accepted",
            _ => null,
        };
        if (problem is null) return;
        logger.LogWarning("{Method} from {Peer} refused: {Problem}", context.Method, context.Peer, problem);
        throw new RpcException(new Status(StatusCode.Unauthenticated, problem));
    }

    /// <summary>"pkg.Service" of a method path "/pkg.Service/Method".</summary>
    public static string ServiceOf(string method)
    {
        var path = method.AsSpan().TrimStart('/');
        int slash = path.IndexOf('/');
        return (slash < 0 ? path : path[..slash]).ToString();
    }
}
