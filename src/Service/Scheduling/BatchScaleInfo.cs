namespace Var.Service.Scheduling;

/// <summary>What a running batch looks like after a scale: reported on the torch thread to <see cref="GenerationScheduler.AfterScale"/>.</summary>
/// <param name="Model">Model name.</param>
/// <param name="Scale">0-based scale just finished.</param>
/// <param name="NumScales">Scales in all.</param>
/// <param name="RequestIds">Request id of each row still in the batch (a request with several images appears once per image).</param>
/// <param name="Elapsed">Since the batch started.</param>
public sealed record BatchScaleInfo(string Model, int Scale, int NumScales, IReadOnlyList<string> RequestIds, TimeSpan Elapsed);
