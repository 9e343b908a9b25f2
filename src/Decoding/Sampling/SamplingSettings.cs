namespace Var.Decoding.Sampling;

/// <summary>
/// Per-image sampling settings (var.md §3). Defaults are the official FID settings: cfg 1.5, top-k 900, top-p 0.96.
/// </summary>
public sealed record SamplingSettings
{
    /// <summary>Classifier-free guidance strength at the last scale; the ramp is t = cfg · si / (SN − 1).</summary>
    public double Cfg { get; init; } = 1.5;

    /// <summary>Keep the k largest logits (ties with the k-th kept); 0 = off.</summary>
    public int TopK { get; init; } = 900;

    /// <summary>Nucleus threshold in (0, 1]; 0 = off.</summary>
    public double TopP { get; init; } = 0.96;

    /// <summary>Gumbel-softmax "more smooth" embeddings instead of hard tokens (visualisation only, var.md §3.6.6).</summary>
    public bool MoreSmooth { get; init; }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the bad field.</summary>
    public void Validate()
    {
        if (double.IsNaN(Cfg) || Cfg < 0 || Cfg > 50) throw new ArgumentOutOfRangeException(nameof(Cfg), Cfg, "cfg must be in [0, 50]");
        if (TopK < 0) throw new ArgumentOutOfRangeException(nameof(TopK), TopK, "top-k must be ≥ 0 (0 = off)");
        if (double.IsNaN(TopP) || TopP < 0 || TopP > 1) throw new ArgumentOutOfRangeException(nameof(TopP), TopP, "top-p must be in [0, 1] (0 = off)");
    }
}

/// <summary>One image to generate: class id, seed and settings. Its optional token cancels only this image.</summary>
public sealed record SampleRequest(int ClassId, long Seed, SamplingSettings Settings)
{
    /// <summary>Cancels this image alone (its row leaves the batch at the next scale).</summary>
    public CancellationToken Cancellation { get; init; }
}

/// <summary>A generated image: RGB bytes (H, W, 3) row-major, its tokens per scale, and the request it answers.</summary>
public sealed record GeneratedImage(SampleRequest Request, int Size, byte[] Rgb, int[][] Tokens);

/// <summary>
/// Progress after one scale. <see cref="FHat"/> (rows, Cvae, h, w) is valid only during the callback; the
/// <see cref="Rows"/> list maps its rows to positions in the request list.
/// </summary>
public sealed record ScaleProgress(int Scale, int NumScales, int TokensDone, int TokensTotal, TimeSpan Elapsed, IReadOnlyList<int> Rows, Tensor FHat);
