using System.Collections.Concurrent;
using Grpc.Core.Interceptors;

namespace Var.Service.Tests;

/// <summary>An interceptor registered after the service's own: it sees exactly the calls that got past the access check.</summary>
public sealed class CallRecorder : Interceptor
{
    /// <summary>Methods that reached the services, in order.</summary>
    public ConcurrentQueue<string> Methods { get; } = new();

    /// <inheritdoc />
    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        Methods.Enqueue(context.Method);
        return continuation(request, context);
    }

    /// <inheritdoc />
    public override Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Methods.Enqueue(context.Method);
        return continuation(request, responseStream, context);
    }

    /// <inheritdoc />
    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Methods.Enqueue(context.Method);
        return continuation(requestStream, responseStream, context);
    }

    /// <summary>The recorded calls to var.v1.Generation.</summary>
    public List<string> GenerationCalls() => Methods.Where(m => m.StartsWith("/var.v1.Generation/", StringComparison.Ordinal)).ToList();
}
