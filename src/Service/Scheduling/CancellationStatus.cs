using Grpc.Core;

namespace Var.Service.Scheduling;

/// <summary>The status of a call whose cancellation token fired: DEADLINE_EXCEEDED when its deadline is (about) due, else CANCELLED.</summary>
public static class CancellationStatus
{
    // The server's deadline timer and DateTime.UtcNow are different clocks; a token fired by the deadline may be
    // observed a little before the deadline by UtcNow.
    private static readonly TimeSpan ClockSlack = TimeSpan.FromMilliseconds(100);

    /// <summary>The error for a cancelled call with <paramref name="deadline"/> (DateTime.MaxValue = none).</summary>
    public static RpcException For(DateTime deadline) => deadline != DateTime.MaxValue && deadline - DateTime.UtcNow <= ClockSlack
        ? new RpcException(new Status(StatusCode.DeadlineExceeded, "the deadline passed before the images were ready"))
        : new RpcException(new Status(StatusCode.Cancelled, "the call was cancelled"));
}
