using Grpc.Core;
using Grpc.Core.Interceptors;
using Var.Service.V1;

namespace Var.Cli.Tests;

/// <summary>
/// Makes the in-process server answer RESOURCE_EXHAUSTED: to the next generation calls after <see cref="Arm"/> (a
/// queue that is full for a while), and always to requests of class <see cref="AlwaysRefuseClass"/>.
/// </summary>
public sealed class RefusingInterceptor : Interceptor
{
    private int refused;
    private int calls;
    private int refuseLeft;

    /// <summary>A class name whose requests are always refused (null = none).</summary>
    public string? AlwaysRefuseClass { get; set; }

    /// <summary>Calls refused so far.</summary>
    public int Refused => refused;

    /// <summary>Generation calls seen (attempts, retries included).</summary>
    public int Calls => calls;

    /// <inheritdoc />
    public override Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Check(request);
        return continuation(request, responseStream, context);
    }

    /// <inheritdoc />
    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        Check(request);
        return continuation(request, context);
    }

    private void Check(object request)
    {
        var generation = request switch { GenerateRequest g => g, EditRequest e => e.Generation, _ => null };
        if (generation is null) return;
        Interlocked.Increment(ref calls);
        if (Interlocked.Decrement(ref refuseLeft) >= 0 || (AlwaysRefuseClass is { } c && generation.ClassName == c))
        {
            Interlocked.Increment(ref refused);
            throw new RpcException(new Status(StatusCode.ResourceExhausted, "queue full (test)"));
        }
    }

    /// <summary>Refuses the next <paramref name="count"/> generation calls; resets the counters.</summary>
    public void Arm(int count)
    {
        refuseLeft = count;
        refused = 0;
        calls = 0;
    }
}
