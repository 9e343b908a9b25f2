namespace Var.Service.Scheduling;

/// <summary>Something that happened to an accepted request, delivered in order through its ticket.</summary>
public abstract record TicketEvent;
