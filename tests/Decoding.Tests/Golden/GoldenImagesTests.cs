using Var.Model;
using System.Security.Cryptography;
using System.Text.Json;
using Var.Decoding.Sampling;
using Var.Model.Checkpoints;

namespace Var.Decoding.Tests.Golden;

/// <summary>
/// Images the shipped model made before the decoding core was built (recorded by the pre-refactor ImageGenerator, see
/// golden-fmnist.json): every token of every scale and the RGB bytes must stay identical. Record a new set only on
/// purpose: VAR_RECORD_GOLDEN=1 rewrites the file.
/// </summary>
public class GoldenImagesTests
{
    private static readonly string FixturePath = Path.Combine(AppContext.BaseDirectory, "Golden", "golden-fmnist.json");

    /// <summary>One recorded batch: the transformer, its settings and (class, seed) rows generated together.</summary>
    public sealed record GoldenBatch(string Transformer, double Cfg, int TopK, double TopP, bool MoreSmooth, int[] Classes, long[] Seeds)
    {
        public List<int[][]> Tokens { get; init; } = [];
        public List<string> RgbSha256 { get; init; } = [];
    }

    private static readonly GoldenBatch[] Batches =
    [
        new("var", 1.5, 0, 0, false, [0, 4, 9, 6, 2], [0, 1, 2, 3, 4]),
        new("var", 3.0, 100, 0.95, false, [2, 7, 5], [5, 6, 7]),
        new("var", 1.5, 0, 0, true, [3, 8], [2, 9]),
        new("refiner", 1.5, 0, 0, false, [1, 8, 3], [3, 4, 11]),
    ];

    private static string ModelFolder()
    {
        var weights = ModelLoader.WeightsDirectory();
        Assert.True(weights is not null, "weights/ not found");
        return Path.Combine(weights!, "fmnist");
    }

    private static List<GoldenBatch> Generate()
    {
        var made = new List<GoldenBatch>();
        foreach (var b in Batches)
        {
            using var model = ModelLoader.Load(new ModelSource { Model = ModelFolder(), Role = b.Transformer });
            var settings = new SamplingSettings { Cfg = b.Cfg, TopK = b.TopK, TopP = b.TopP, MoreSmooth = b.MoreSmooth };
            var requests = b.Classes.Select((c, i) => new SampleRequest(c, b.Seeds[i], settings)).ToList();
            var images = new ImageGenerator(model).Generate(requests);
            made.Add(b with
            {
                Tokens = images.Select(im => im!.Tokens).ToList(),
                RgbSha256 = images.Select(im => Convert.ToHexString(SHA256.HashData(im!.Rgb))).ToList(),
            });
        }
        return made;
    }

    [Fact]
    public void ShippedModelImagesStayIdenticalToTheRecordedSet()
    {
        var made = Generate();
        var json = new JsonSerializerOptions { WriteIndented = false, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
        if (Environment.GetEnvironmentVariable("VAR_RECORD_GOLDEN") == "1")
        {
            var source = Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "..", "tests", "Decoding.Tests", "Golden", "golden-fmnist.json");
            File.WriteAllText(Path.GetFullPath(source), JsonSerializer.Serialize(made, json) + "\n");
            return;
        }
        Assert.True(File.Exists(FixturePath), $"golden fixture missing: {FixturePath}");
        var recorded = JsonSerializer.Deserialize<List<GoldenBatch>>(File.ReadAllText(FixturePath), json)!;
        Assert.Equal(Batches.Length, recorded.Count);
        for (int b = 0; b < recorded.Count; b++)
        {
            Assert.Equal(recorded[b].Classes, made[b].Classes);
            for (int i = 0; i < recorded[b].Tokens.Count; i++)
            {
                Assert.Equal(recorded[b].Tokens[i], made[b].Tokens[i]);
                Assert.Equal(recorded[b].RgbSha256[i], made[b].RgbSha256[i]);
            }
        }
    }
}
