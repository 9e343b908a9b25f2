using Grpc.Core;
using Var.Service.Scheduling;

namespace Var.Service.Services;

/// <summary>Maps the scheduling core's domain errors to gRPC status codes.</summary>
public static class StatusMapping
{
    /// <summary>The <see cref="RpcException"/> a client sees for <paramref name="e"/>.</summary>
    public static RpcException ToRpc(SchedulingException e) => new(new Status(e.Error switch
    {
        SchedulingError.Unavailable => StatusCode.Unavailable,
        SchedulingError.QueueFull => StatusCode.ResourceExhausted,
        SchedulingError.Cancelled => StatusCode.Cancelled,
        SchedulingError.DeadlineExceeded => StatusCode.DeadlineExceeded,
        _ => StatusCode.Internal,
    }, e.Message));
}
