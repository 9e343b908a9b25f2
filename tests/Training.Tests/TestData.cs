using System.IO.Compression;

namespace Var.Training.Tests;

/// <summary>Synthetic Fashion-MNIST files and paths to the real data and the shipped weights.</summary>
internal static class TestData
{
    /// <summary>Writes a tiny train/test pair of IDX gz files (pixel (i, y, x) = (i·7 + y·3 + x) mod 256, label i mod 10).</summary>
    public static string WriteSynthetic(int trainCount = 64, int testCount = 20)
    {
        string dir = Path.Combine(Path.GetTempPath(), "var-fmnist-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        foreach (var (prefix, n) in new[] { ("train", trainCount), ("t10k", testCount) })
        {
            var images = new byte[n * 28 * 28];
            for (int i = 0; i < n; i++)
                for (int y = 0; y < 28; y++)
                    for (int x = 0; x < 28; x++) images[i * 784 + y * 28 + x] = Pixel(i, y, x);
            WriteIdx(Path.Combine(dir, $"{prefix}-images-idx3-ubyte.gz"), 0x803, [n, 28, 28], images);
            WriteIdx(Path.Combine(dir, $"{prefix}-labels-idx1-ubyte.gz"), 0x801, [n], Enumerable.Range(0, n).Select(i => (byte)(i % 10)).ToArray());
        }
        return dir;
    }

    /// <summary>The synthetic pixel value.</summary>
    public static byte Pixel(int i, int y, int x) => (byte)((i * 7 + y * 3 + x) % 256);

    /// <summary>Trains the tiny tokenizer one step as the run "tok" under <paramref name="runs"/>; returns its weights.</summary>
    public static string TrainTinyTokenizer(string runs, string data)
    {
        Tokenizer.TokenizerTrainer.Run(new Tokenizer.TokenizerTrainOptions
        {
            Name = "tok",
            RunsDirectory = runs,
            DataDirectory = data,
            Steps = 1,
            BatchSize = 8,
            WarmupSteps = 1,
            EvalImages = 8,
            RestartEvery = 0,
            Config = TrainingStepTests.TinyVqvae,
        }, null, CancellationToken.None);
        return Path.Combine(runs, "tok", "model.safetensors");
    }

    /// <summary>The repository's weights/fmnist folder, or null.</summary>
    public static string? ShippedModelFolder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Var.sln")))
            {
                string folder = Path.Combine(dir.FullName, "weights", "fmnist");
                return File.Exists(Path.Combine(folder, "model.json")) ? folder : null;
            }
        }
        return null;
    }

    private static void WriteIdx(string path, int magic, int[] dims, byte[] data)
    {
        using var file = File.Create(path);
        using var gz = new GZipStream(file, CompressionLevel.Fastest);
        void Int(int v) => gz.Write([(byte)(v >> 24), (byte)(v >> 16), (byte)(v >> 8), (byte)v]);
        Int(magic);
        foreach (int d in dims) Int(d);
        gz.Write(data);
    }
}
