namespace Var.Client;

/// <summary>Kinds of <see cref="RemoteProgress"/>.</summary>
public enum RemoteStage
{
    /// <summary>The server accepted the request (<see cref="RemoteProgress.QueuePosition"/> is set).</summary>
    Queued,

    /// <summary>A scale finished (<see cref="RemoteProgress.Scale"/>, previews when asked).</summary>
    Scale,

    /// <summary>An image arrived (<see cref="RemoteProgress.ImagesDone"/> counts them).</summary>
    Image,
}
