using Var.Service.Validation;

namespace Var.Service.Scheduling;

/// <summary>One image waiting in, or taken from, the scheduler's queue.</summary>
internal sealed record ImageJob(GenerationTicket Ticket, ImageSpec Spec, long EnqueuedAt);
