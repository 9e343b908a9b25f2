using System.Diagnostics;
using System.Threading.Channels;
using Var.Service.Validation;

namespace Var.Service.Scheduling;

/// <summary>
/// An accepted request: its place in the queue and the ordered stream of its events. The stream ends after the last
/// image, or with a <see cref="SchedulingException"/> (cancelled, deadline exceeded, unavailable while shutting down, failed) when the request
/// cannot finish. Dispose it when the call ends.
/// </summary>
public sealed class GenerationTicket : IDisposable
{
    private readonly Channel<TicketEvent> events = Channel.CreateUnbounded<TicketEvent>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource linked;
    private readonly CancellationToken call;
    private readonly DateTime deadline;
    private int remaining;

    internal GenerationTicket(GenerationPlan plan, CancellationToken call, DateTime deadline, CancellationToken abort)
    {
        Plan = plan;
        this.call = call;
        this.deadline = deadline;
        linked = CancellationTokenSource.CreateLinkedTokenSource(call, abort);
        remaining = plan.Images.Count;
        AcceptedAt = Stopwatch.GetTimestamp();
    }

    /// <summary>The request's id.</summary>
    public string RequestId => Plan.RequestId;

    /// <summary>What was asked.</summary>
    public GenerationPlan Plan { get; }

    /// <summary>Images that were waiting ahead of this request's first image when it was accepted.</summary>
    public int Position { get; internal set; }

    /// <summary>Images waiting, this request's included, when it was accepted.</summary>
    public int QueueDepth { get; internal set; }

    /// <summary><see cref="Stopwatch"/> timestamp of acceptance.</summary>
    public long AcceptedAt { get; }

    /// <summary>The request's events in order; completes after the last image or faults with a <see cref="SchedulingException"/>.</summary>
    public ChannelReader<TicketEvent> Events => events.Reader;

    /// <summary>Cancelled when the call is cancelled or its deadline passes, or when shutdown gives up on it.</summary>
    public CancellationToken Token => linked.Token;

    /// <summary>True once the request can no longer finish.</summary>
    public bool IsCancelled => linked.IsCancellationRequested;

    internal void Publish(TicketEvent e) => events.Writer.TryWrite(e);

    internal void CompleteImage(ImageCompleted e)
    {
        if (!events.Writer.TryWrite(e)) return;
        if (Interlocked.Decrement(ref remaining) == 0) events.Writer.TryComplete();
    }

    internal void Fail(SchedulingException error) => events.Writer.TryComplete(error);

    /// <summary>The error that ends a request whose <see cref="Token"/> fired.</summary>
    internal SchedulingException CancellationError() => call.IsCancellationRequested
        ? CancellationStatus.For(deadline)
        : new SchedulingException(SchedulingError.Unavailable, "the server is shutting down and could not finish this request within its grace period");

    /// <inheritdoc />
    public void Dispose() => linked.Dispose();
}
