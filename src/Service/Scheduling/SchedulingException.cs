namespace Var.Service.Scheduling;

/// <summary>A domain error of the scheduling core: a refused submission or a request that cannot finish.</summary>
public sealed class SchedulingException(SchedulingError error, string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>What went wrong.</summary>
    public SchedulingError Error => error;
}
