using Var.Decoding.Sampling;

namespace Var.Service.Scheduling;

/// <summary>One image of the request is ready.</summary>
public sealed record ImageCompleted(int Index, GeneratedImage Image, double QueueMs, double GenerationMs, int BatchSize) : TicketEvent;
