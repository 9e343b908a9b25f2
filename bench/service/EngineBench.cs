using Var.Model;
using System.Diagnostics;
using Var.Decoding.Sampling;
using Var.Model.Checkpoints;

namespace Var.Bench.Service;

/// <summary>The engine alone: <see cref="ImageGenerator"/> at a fixed batch, no server, in this process.</summary>
internal static class EngineBench
{
    /// <summary>Images per second at <paramref name="batch"/>, timed over at least <paramref name="seconds"/> after a warm-up batch.</summary>
    public static (double ImagesPerSecond, double SecondsPerBatch, int Batches, int ImageSize) Run(BenchModel model, int batch, int threads, double seconds)
    {
        if (threads > 0) TorchSharp.torch.set_num_threads(threads);
        using var loaded = ModelLoader.Load(new ModelSource { Model = Path.Combine(model.ModelsFolder, model.Name) });
        var sampler = new ImageGenerator(loaded);
        var settings = loaded.Sampling;
        long seed = 0;
        List<SampleRequest> Next() => Enumerable.Range(0, batch).Select(i => new SampleRequest(i % loaded.Classes.Count, seed++, settings)).ToList();
        sampler.Generate(Next());
        var clock = Stopwatch.StartNew();
        int batches = 0;
        while (batches < 3 || clock.Elapsed.TotalSeconds < seconds)
        {
            sampler.Generate(Next());
            batches++;
        }
        double s = clock.Elapsed.TotalSeconds;
        return (batches * batch / s, s / batches, batches, loaded.ImageSize);
    }
}
