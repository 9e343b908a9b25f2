namespace Var.Service.Scheduling;

/// <summary>The error of a call whose cancellation token fired: deadline exceeded when its deadline is (about) due, else cancelled.</summary>
public static class CancellationStatus
{
    // The server's deadline timer and DateTime.UtcNow are different clocks; a token fired by the deadline may be
    // observed a little before the deadline by UtcNow.
    private static readonly TimeSpan ClockSlack = TimeSpan.FromMilliseconds(100);

    /// <summary>The error for a cancelled call with <paramref name="deadline"/> (DateTime.MaxValue = none).</summary>
    public static SchedulingException For(DateTime deadline) => deadline != DateTime.MaxValue && deadline - DateTime.UtcNow <= ClockSlack
        ? new SchedulingException(SchedulingError.DeadlineExceeded, "the deadline passed before the images were ready")
        : new SchedulingException(SchedulingError.Cancelled, "the call was cancelled");
}
