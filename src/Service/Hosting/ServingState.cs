using Grpc.Health.V1;
using Grpc.HealthCheck;

namespace Var.Service.Hosting;

/// <summary>
/// Whether the server takes work: not until its models are loaded, and no longer once draining. Mirrors the state
/// into the standard grpc.health.v1.Health service for the whole server ("") and for <c>var.v1.Generation</c>.
/// </summary>
public sealed class ServingState
{
    /// <summary>Health-check service name of the generation service.</summary>
    public const string GenerationServiceName = "var.v1.Generation";

    /// <summary>
    /// Health-check service name that is SERVING for as long as the process answers, draining included: for liveness
    /// probes, which must not restart a pod that is loading its models or finishing its work after SIGTERM.
    /// </summary>
    public const string LivenessServiceName = "liveness";

    private readonly HealthServiceImpl health;
    private volatile bool ready;
    private volatile bool draining;
    private volatile string? failure;

    /// <summary>Starts NOT_SERVING.</summary>
    public ServingState(HealthServiceImpl health)
    {
        this.health = health;
        health.SetStatus(LivenessServiceName, HealthCheckResponse.Types.ServingStatus.Serving);
        Publish();
    }

    /// <summary>True once the models are loaded.</summary>
    public bool IsReady => ready;

    /// <summary>True once shutdown has begun.</summary>
    public bool IsDraining => draining;

    /// <summary>Why loading failed, if it did.</summary>
    public string? Failure => failure;

    /// <summary>True when new work is accepted.</summary>
    public bool IsServing => ready && !draining;

    /// <summary>Marks the models loaded.</summary>
    public void MarkReady()
    {
        ready = true;
        Publish();
    }

    /// <summary>Records a failed model load (stays NOT_SERVING).</summary>
    public void MarkFailed(string reason)
    {
        failure = reason;
        Publish();
    }

    /// <summary>Stops taking new work (idempotent).</summary>
    public void BeginDrain()
    {
        draining = true;
        Publish();
    }

    private void Publish()
    {
        var status = IsServing ? HealthCheckResponse.Types.ServingStatus.Serving : HealthCheckResponse.Types.ServingStatus.NotServing;
        health.SetStatus("", status);
        health.SetStatus(GenerationServiceName, status);
    }
}
