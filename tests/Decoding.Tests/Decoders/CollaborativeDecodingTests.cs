using Var.Decoding.Decoders;
using Var.Decoding.Sampling;
using Var.Model;

namespace Var.Decoding.Tests.Decoders;

/// <summary>CoDe on tiny models: reduction to the drafter, batch invariance, cancellation and clear errors.</summary>
public class CollaborativeDecodingTests
{
    private static readonly SamplingSettings Plain = new() { Cfg = 2.0, TopK = 20, TopP = 0.9 };

    private static SampleRequest[] Requests() =>
    [
        new(0, 11, Plain), new(3, 12, new SamplingSettings { Cfg = 0, TopK = 0, TopP = 0 }), new(1, 13, Plain),
        new(4, 14, new SamplingSettings { Cfg = 4, TopK = 5, TopP = 0.5, MoreSmooth = true }),
    ];

    [Fact]
    public void WithEveryScaleDraftedItIsTheDrafterAlone()
    {
        using var model = TinyModels.CreatePair();
        int k = model.Vqvae.Config.PatchNums.Length;
        var code = new ImageGenerator(model, new CollaborativeDecoding(k)).Generate(Requests());
        var alone = new ImageGenerator(model, new VarDecoding()).Generate(Requests());
        for (int i = 0; i < code.Count; i++)
        {
            Assert.Equal(alone[i]!.Tokens, code[i]!.Tokens);
            Assert.Equal(alone[i]!.Rgb, code[i]!.Rgb);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void ACodeImageIsBatchInvariantAndDiffersFromTheDrafters(int n)
    {
        using var model = TinyModels.CreatePair();
        var generator = new ImageGenerator(model, new CollaborativeDecoding(n));
        var requests = Requests();
        var together = generator.Generate(requests);
        var drafter = new ImageGenerator(model).Generate(requests);
        for (int i = 0; i < requests.Length; i++)
        {
            var alone = generator.Generate([requests[i]])[0]!;
            Assert.Equal(alone.Tokens, together[i]!.Tokens);
            // Same tokens; the tokenizer's batched convolutions round differently from a batch of one by ~1e-6, which
            // can move a pixel that sits on a rounding boundary by one level.
            Assert.True(alone.Rgb.Zip(together[i]!.Rgb, (x, y) => Math.Abs(x - y)).Max() <= 1, "decoded pixels differ by more than rounding");
            // The drafted scales are the drafter's own.
            Assert.Equal(drafter[i]!.Tokens.Take(n), together[i]!.Tokens.Take(n));
        }
        Assert.NotEqual(drafter.Select(d => d!.Tokens[^1]), together.Select(t => t!.Tokens[^1]));
    }

    [Fact]
    public void ARefinerCfgChangesOnlyTheRefinedScales()
    {
        using var model = TinyModels.CreatePair();
        var requests = Requests();
        var same = new ImageGenerator(model, new CollaborativeDecoding(2)).Generate(requests);
        var other = new ImageGenerator(model, new CollaborativeDecoding(2, RefinerCfg: 0)).Generate(requests);
        for (int i = 0; i < requests.Length; i++) Assert.Equal(same[i]!.Tokens.Take(2), other[i]!.Tokens.Take(2));
        Assert.NotEqual(same.Select(s => s!.Tokens[^1]), other.Select(o => o!.Tokens[^1]));
    }

    [Fact]
    public void ACancelledCodeRequestStopsWithinOneScale()
    {
        using var model = TinyModels.CreatePair();
        using var cts = new CancellationTokenSource();
        var requests = Requests();
        requests[1] = requests[1] with { Cancellation = cts.Token };
        var rows = new List<int>();
        var results = new ImageGenerator(model, new CollaborativeDecoding(1)).Generate(requests, onScale: p =>
        {
            rows.Add(p.Rows.Count);
            if (p.Scale == 1) cts.Cancel();
        });
        Assert.Equal([4, 4, 3, 3], rows);
        Assert.Null(results[1]);
        var alone = new ImageGenerator(model, new CollaborativeDecoding(1)).Generate([requests[0]])[0]!;
        Assert.Equal(alone.Rgb, results[0]!.Rgb);
    }

    [Fact]
    public void BadSettingsNameTheField()
    {
        using var model = TinyModels.CreatePair();
        using var single = TinyModels.Create();
        var outOfRange = Assert.Throws<ArgumentOutOfRangeException>(() => new CollaborativeDecoding(0).Plan(model));
        Assert.Equal("DraftScales", outOfRange.ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => new CollaborativeDecoding(5).Plan(model));
        var noRefiner = Assert.Throws<ArgumentException>(() => new CollaborativeDecoding(2).Plan(single));
        Assert.Contains("refiner", noRefiner.Message);
        var temps = Assert.Throws<ArgumentException>(() => new CollaborativeDecoding(2, Temperatures: [1.0, 1.0]).Plan(model));
        Assert.Equal("Temperatures", temps.ParamName);
        Assert.NotEqual(new CollaborativeDecoding(2).BatchKey, new CollaborativeDecoding(3).BatchKey);
        Assert.NotEqual(new CollaborativeDecoding(2).BatchKey, new CollaborativeDecoding(2, RefinerCfg: 1).BatchKey);
    }
}
