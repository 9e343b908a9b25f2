using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Var.Service.Metrics;

/// <summary>
/// The service's OpenTelemetry instruments (meter <see cref="MeterName"/>), exported at /metrics in Prometheus form:
/// queue depth, images in flight, batch sizes, per-scale latency, queue wait, images made, requests and errors by status.
/// </summary>
public sealed class ServiceMetrics
{
    /// <summary>Name of the meter.</summary>
    public const string MeterName = "Var.Service";

    private readonly Histogram<int> batchSize;
    private readonly Histogram<double> scaleDuration;
    private readonly Histogram<double> queueWait;
    private readonly Histogram<double> requestDuration;
    private readonly Counter<long> images;
    private readonly Counter<long> requests;
    private readonly Counter<long> errors;
    private int queued;
    private int inFlight;

    /// <summary>Creates the instruments on a meter from <paramref name="meters"/>.</summary>
    public ServiceMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        meter.CreateObservableGauge("var.queue.depth", () => Volatile.Read(ref queued), "{image}", "Images waiting in the queue");
        meter.CreateObservableGauge("var.images.in_flight", () => Volatile.Read(ref inFlight), "{image}", "Images in running batches");
        batchSize = meter.CreateHistogram<int>("var.batch.size", "{image}", "Rows per generation batch when it starts",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 128] });
        scaleDuration = meter.CreateHistogram<double>("var.scale.duration", "ms", "Time of one scale step of a batch");
        queueWait = meter.CreateHistogram<double>("var.queue.wait", "ms", "Time an image waits before its batch starts");
        requestDuration = meter.CreateHistogram<double>("var.request.duration", "ms", "Time from acceptance to the last result");
        images = meter.CreateCounter<long>("var.images.generated", "{image}", "Images generated");
        requests = meter.CreateCounter<long>("var.requests", "{request}", "Finished calls by method and status code");
        errors = meter.CreateCounter<long>("var.errors", "{request}", "Calls that ended with a status other than OK");
    }

    /// <summary>Updates the queue gauges.</summary>
    public void SetQueue(int queuedImages, int inFlightImages)
    {
        Volatile.Write(ref queued, queuedImages);
        Volatile.Write(ref inFlight, inFlightImages);
    }

    /// <summary>Records a batch starting with <paramref name="rows"/> images.</summary>
    public void BatchStarted(string model, int rows) => batchSize.Record(rows, new KeyValuePair<string, object?>("model", model));

    /// <summary>Records one scale step of a batch.</summary>
    public void ScaleDone(string model, int scale, double milliseconds) =>
        scaleDuration.Record(milliseconds, new KeyValuePair<string, object?>("model", model), new KeyValuePair<string, object?>("scale", scale));

    /// <summary>Records how long an image waited for its batch.</summary>
    public void QueueWaited(double milliseconds) => queueWait.Record(milliseconds);

    /// <summary>Counts finished images.</summary>
    public void ImagesGenerated(string model, int count) => images.Add(count, new KeyValuePair<string, object?>("model", model));

    /// <summary>Counts a finished call; a status other than OK also counts as an error.</summary>
    public void CallFinished(string method, Grpc.Core.StatusCode code, double milliseconds)
    {
        var tags = new TagList { { "method", method }, { "code", code.ToString() } };
        requests.Add(1, tags);
        if (code != Grpc.Core.StatusCode.OK) errors.Add(1, tags);
        else requestDuration.Record(milliseconds, new KeyValuePair<string, object?>("method", method));
    }
}
