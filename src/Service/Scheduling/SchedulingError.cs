namespace Var.Service.Scheduling;

/// <summary>Why the scheduler refused or ended a request (the gRPC layer maps each to a status code).</summary>
public enum SchedulingError
{
    /// <summary>Loading, draining or shutting down: retry elsewhere or later.</summary>
    Unavailable,

    /// <summary>The queue cannot take the request's images now.</summary>
    QueueFull,

    /// <summary>The caller cancelled.</summary>
    Cancelled,

    /// <summary>The caller's deadline passed.</summary>
    DeadlineExceeded,

    /// <summary>Generation itself failed.</summary>
    Failed,
}
