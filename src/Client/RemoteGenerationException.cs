using Grpc.Core;

namespace Var.Client;

/// <summary>The server refused or failed a request; the message names the status and, for INVALID_ARGUMENT, every bad field.</summary>
public sealed class RemoteGenerationException(StatusCode code, string message, Exception inner) : Exception(message, inner)
{
    /// <summary>The gRPC status code (INVALID_ARGUMENT, RESOURCE_EXHAUSTED, UNAVAILABLE, DEADLINE_EXCEEDED, …).</summary>
    public StatusCode Code { get; } = code;
}
