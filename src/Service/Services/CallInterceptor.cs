using System.Diagnostics;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Var.Service.Metrics;
using Var.Service.Scheduling;

namespace Var.Service.Services;

/// <summary>
/// Every call ends with a deliberate status: counts calls and errors by status code, maps the scheduler's domain errors and a cancelled call to
/// their status codes (CANCELLED / DEADLINE_EXCEEDED …) and any unexpected exception to INTERNAL (logged with its stack), never UNKNOWN.
/// </summary>
public sealed class CallInterceptor(ServiceMetrics metrics, ILogger<CallInterceptor> logger) : Interceptor
{
    /// <inheritdoc />
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        long start = Stopwatch.GetTimestamp();
        try
        {
            var response = await continuation(request, context);
            metrics.CallFinished(context.Method, StatusCode.OK, Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            return response;
        }
        catch (Exception e)
        {
            throw Finish(e, context, start);
        }
    }

    /// <inheritdoc />
    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        long start = Stopwatch.GetTimestamp();
        try
        {
            await continuation(request, responseStream, context);
            metrics.CallFinished(context.Method, StatusCode.OK, Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
        catch (Exception e)
        {
            throw Finish(e, context, start);
        }
    }

    private RpcException Finish(Exception e, ServerCallContext context, long start)
    {
        var error = e switch
        {
            RpcException rpc when context.CancellationToken.IsCancellationRequested && rpc.StatusCode == StatusCode.Cancelled => Cancelled(context),
            RpcException rpc => rpc,
            SchedulingException scheduling when scheduling.Error == SchedulingError.Cancelled && context.CancellationToken.IsCancellationRequested => Cancelled(context),
            SchedulingException scheduling => StatusMapping.ToRpc(scheduling),
            OperationCanceledException or IOException when context.CancellationToken.IsCancellationRequested => Cancelled(context),
            _ => null,
        };
        if (error is null)
        {
            logger.LogError(e, "Unexpected failure in {Method}", context.Method);
            error = new RpcException(new Status(StatusCode.Internal, $"internal error: {e.GetType().Name}: {e.Message}"));
        }
        metrics.CallFinished(context.Method, error.StatusCode, Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        if (error.StatusCode is StatusCode.InvalidArgument or StatusCode.ResourceExhausted or StatusCode.Unimplemented or StatusCode.Unavailable)
            logger.LogWarning("{Method} refused: {Code} {Detail}", context.Method, error.StatusCode, error.Status.Detail);
        return error;
    }

    private static RpcException Cancelled(ServerCallContext context) => StatusMapping.ToRpc(CancellationStatus.For(context.Deadline));
}
