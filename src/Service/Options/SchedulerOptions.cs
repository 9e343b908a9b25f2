namespace Var.Service.Options;

/// <summary>Queue and dynamic-batching limits (configuration section <c>Var:Scheduler</c>).</summary>
public sealed class SchedulerOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Var:Scheduler";

    /// <summary>Images that may wait in the queue (running ones not counted); a request that does not fit is refused with RESOURCE_EXHAUSTED. Default 256.</summary>
    public int MaxQueuedImages { get; set; } = 256;

    /// <summary>Most images generated together in one batch (rows of different requests share it). Default 16.</summary>
    public int MaxBatchSize { get; set; } = 16;

    /// <summary>
    /// Most candidate rows in one batch: an image costs one row, a TTS-VAR image its widest candidate count (its real
    /// work), so a search shares batches in proportion. A request needing more rows per image is INVALID_ARGUMENT. Default 256.
    /// </summary>
    public int MaxBatchRows { get; set; } = 256;

    /// <summary>Candidate rows that may wait in the queue (counted as for <see cref="MaxBatchRows"/>); beyond it RESOURCE_EXHAUSTED. Default 4096.</summary>
    public int MaxQueuedRows { get; set; } = 4096;

    /// <summary>
    /// Longest time, in milliseconds, the oldest waiting image is held back so that more can join its batch. Default 5.
    /// A batch starts at once when it is full.
    /// </summary>
    public double MaxWaitMs { get; set; } = 5;

    /// <summary>Most images one request may ask for. Default 64.</summary>
    public int MaxImagesPerRequest { get; set; } = 64;

    /// <summary>Throws <see cref="ArgumentException"/> for an impossible setting.</summary>
    public void Validate()
    {
        if (MaxQueuedImages < 1) throw new ArgumentException("Var:Scheduler:MaxQueuedImages must be ≥ 1");
        if (MaxBatchSize < 1) throw new ArgumentException("Var:Scheduler:MaxBatchSize must be ≥ 1");
        if (MaxBatchRows < MaxBatchSize) throw new ArgumentException("Var:Scheduler:MaxBatchRows must be ≥ MaxBatchSize");
        if (MaxQueuedRows < MaxQueuedImages) throw new ArgumentException("Var:Scheduler:MaxQueuedRows must be ≥ MaxQueuedImages");
        if (double.IsNaN(MaxWaitMs) || MaxWaitMs < 0) throw new ArgumentException("Var:Scheduler:MaxWaitMs must be ≥ 0");
        if (MaxImagesPerRequest < 1) throw new ArgumentException("Var:Scheduler:MaxImagesPerRequest must be ≥ 1");
        if (MaxImagesPerRequest > MaxQueuedImages) throw new ArgumentException("Var:Scheduler:MaxImagesPerRequest must not exceed MaxQueuedImages");
    }
}
