using System.Security.Cryptography;
using Var.Model.Vqvae;
using Var.Training.Data;

namespace Var.Training.Generator;

/// <summary>
/// Token ids of every image of a split under a frozen tokenizer, (N, L) int16 in scale order, computed once and kept
/// in a file named by the tokenizer's content hash so every VAR run on that tokenizer reuses it.
/// </summary>
public sealed class TokenCache
{
    private readonly short[] tokens;

    private TokenCache(short[] tokens, int count, int length)
    {
        this.tokens = tokens;
        Count = count;
        Length = length;
    }

    /// <summary>Images.</summary>
    public int Count { get; }

    /// <summary>Tokens per image L.</summary>
    public int Length { get; }

    /// <summary>
    /// Loads the cache for <paramref name="split"/> from <paramref name="directory"/>, or tokenizes the split with
    /// <paramref name="vae"/> (eval mode, no gradients) and writes it there.
    /// </summary>
    public static TokenCache LoadOrBuild(MultiScaleVqvae vae, string tokenizerFile, FashionMnist split, string directory, Action<string>? log)
    {
        int length = vae.Config.TotalTokens;
        string hash = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(tokenizerFile)))[..16].ToLowerInvariant();
        string path = Path.Combine(directory, $"tokens-{split.Split}-{hash}.bin");
        if (File.Exists(path))
        {
            var bytes = File.ReadAllBytes(path);
            var cached = new short[bytes.Length / 2];
            Buffer.BlockCopy(bytes, 0, cached, 0, bytes.Length);
            if (cached.Length == split.Count * length) return new TokenCache(cached, split.Count, length);
        }
        log?.Invoke($"tokenizing {split.Count} {split.Split} images with {tokenizerFile} …");
        var all = new short[split.Count * length];
        bool wasTraining = vae.training;
        vae.eval();
        const int batch = 500;
        for (int at = 0; at < split.Count; at += batch)
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var idx = Enumerable.Range(at, Math.Min(batch, split.Count - at)).ToArray();
            var ids = cat(vae.ImageToTokens(split.Batch(idx)), 1).to(ScalarType.Int16).contiguous();
            ids.data<short>().CopyTo(all.AsSpan(at * length, idx.Length * length));
        }
        vae.train(wasTraining);
        Directory.CreateDirectory(directory);
        var outBytes = new byte[all.Length * 2];
        Buffer.BlockCopy(all, 0, outBytes, 0, outBytes.Length);
        File.WriteAllBytes(path + ".tmp", outBytes);
        File.Move(path + ".tmp", path, overwrite: true);
        log?.Invoke($"token cache written to {path}");
        return new TokenCache(all, split.Count, length);
    }

    /// <summary>Tokens of <paramref name="indices"/> as (B, L) int64.</summary>
    public Tensor Batch(ReadOnlySpan<int> indices)
    {
        var buffer = new long[indices.Length * Length];
        for (int n = 0; n < indices.Length; n++)
        {
            var row = tokens.AsSpan(indices[n] * Length, Length);
            for (int j = 0; j < Length; j++) buffer[n * Length + j] = row[j];
        }
        return tensor(buffer, new long[] { indices.Length, Length }, dtype: ScalarType.Int64);
    }

    /// <summary>Splits tokens (B, L) into per-scale (B, pn²) views.</summary>
    public static Tensor[] PerScale(Tensor tokensBL, IReadOnlyList<int> patchNums)
    {
        var parts = new Tensor[patchNums.Count];
        long at = 0;
        for (int si = 0; si < patchNums.Count; si++)
        {
            long n = patchNums[si] * patchNums[si];
            parts[si] = tokensBL.narrow(1, at, n);
            at += n;
        }
        return parts;
    }
}
