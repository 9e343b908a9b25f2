using Var.Service.Validation;

namespace Var.Service.Scheduling;

/// <summary>One image waiting in, or taken from, the scheduler's queue; it occupies <paramref name="Rows"/> batch rows.</summary>
internal sealed record ImageJob(GenerationTicket Ticket, ImageSpec Spec, long EnqueuedAt, int Rows);
