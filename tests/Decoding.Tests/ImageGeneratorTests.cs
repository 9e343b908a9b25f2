using Var.Model;
using Var.Decoding.Sampling;

namespace Var.Decoding.Tests;

public class ImageGeneratorTests
{
    private static readonly SamplingSettings Plain = new() { Cfg = 2.0, TopK = 20, TopP = 0.9 };

    private static SampleRequest Req(int cls, long seed, SamplingSettings? s = null) => new(cls, seed, s ?? Plain);

    [Fact]
    public void SeededSamplingIsBatchInvariant()
    {
        using var model = TinyModels.Create();
        var sampler = new ImageGenerator(model);
        var requests = new[]
        {
            Req(0, 11), Req(3, 12, new SamplingSettings { Cfg = 0, TopK = 0, TopP = 0 }), Req(1, 13),
            Req(4, 14, new SamplingSettings { Cfg = 4, TopK = 5, TopP = 0.5, MoreSmooth = true }),
        };
        var together = sampler.Generate(requests);
        var reversed = sampler.Generate(requests.Reverse().ToArray()).Reverse().ToArray();
        for (int i = 0; i < requests.Length; i++)
        {
            var alone = sampler.Generate([requests[i]])[0]!;
            Assert.Equal(alone.Tokens, together[i]!.Tokens);
            Assert.Equal(alone.Tokens, reversed[i]!.Tokens);
            Assert.Equal(alone.Rgb, together[i]!.Rgb);
        }
        // Different seeds do give different tokens and images, and images are not flat.
        var a = sampler.Generate([Req(0, 1)])[0]!;
        var b = sampler.Generate([Req(0, 2)])[0]!;
        Assert.NotEqual(a.Tokens, b.Tokens);
        Assert.NotEqual(a.Rgb, b.Rgb);
        Assert.True(a.Rgb.Distinct().Count() > 10, "the decoded image is flat: image comparisons would prove nothing");
    }

    [Fact]
    public void GreedySamplesAreTheArgmaxOfTheTeacherForcedLogits()
    {
        using var model = TinyModels.Create();
        var sampler = new ImageGenerator(model);
        // cfg 0: guided logits are the conditional ones; top-k 1: the draw is the argmax.
        var image = sampler.Generate([Req(2, 5, new SamplingSettings { Cfg = 0, TopK = 1, TopP = 0 })])[0]!;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var idx = image.Tokens.Select(t => tensor(t.Select(x => (long)x).ToArray(), dtype: ScalarType.Int64).view(1, -1)).ToArray();
        var logits = model.Transformer.forward(tensor(new long[] { 2 }), model.Vqvae.Quantizer.TokensToVarInput(idx));
        var argmax = logits.argmax(-1).view(-1).data<long>().ToArray();
        var sampled = image.Tokens.SelectMany(t => t).Select(x => (long)x).ToArray();
        Assert.True(logits.std().item<float>() > 0.1, "logits are nearly constant: the test would prove nothing");
        Assert.Equal(argmax, sampled);
    }

    [Fact]
    public void OutputEqualsDecodingTheSampledTokens()
    {
        using var model = TinyModels.Create();
        var image = new ImageGenerator(model).Generate([Req(1, 77)])[0]!;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var idx = image.Tokens.Select(t => tensor(t.Select(x => (long)x).ToArray(), dtype: ScalarType.Int64).view(1, -1)).ToArray();
        var decoded = model.Vqvae.TokensToImage(idx).add(1).mul(127.5).round().clamp(0, 255).to(ScalarType.Byte)
            .permute(0, 2, 3, 1).contiguous().data<byte>().ToArray();
        Assert.Equal(decoded, image.Rgb);
    }

    [Fact]
    public void CancelledRowLeavesTheBatchAndOthersAreUnchanged()
    {
        using var model = TinyModels.Create();
        var sampler = new ImageGenerator(model);
        using var cts = new CancellationTokenSource();
        var requests = new[] { Req(0, 1), Req(1, 2) with { Cancellation = cts.Token }, Req(2, 3) };
        var seen = new List<int>();
        var results = sampler.Generate(requests, onScale: p =>
        {
            seen.Add(p.Rows.Count);
            if (p.Scale == 1) cts.Cancel();
        });
        Assert.Null(results[1]);
        Assert.Equal(sampler.Generate([requests[0]])[0]!.Rgb, results[0]!.Rgb);
        Assert.Equal(sampler.Generate([requests[2]])[0]!.Rgb, results[2]!.Rgb);
        Assert.Equal(new[] { 3, 3, 2, 2 }, seen);
    }

    [Fact]
    public void WholeBatchCancellationThrows()
    {
        using var model = TinyModels.Create();
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.Throws<OperationCanceledException>(() => new ImageGenerator(model).Generate([Req(0, 1)], cts.Token));
    }

    [Fact]
    public void Bfloat16LogitsStayCloseToFloat32()
    {
        using var f32 = TinyModels.Create(seed: 3);
        using var bf16 = TinyModels.Create(seed: 3, dtype: "bfloat16");
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var idx = TinyModels.PatchNums.Select(pn => randint(0, 64, new long[] { 2, pn * pn })).ToArray();
        var input = f32.Vqvae.Quantizer.TokensToVarInput(idx);
        var labels = tensor(new long[] { 1, 4 });
        var a = f32.Transformer.forward(labels, input);
        var b = bf16.Transformer.forward(labels, input);
        double rel = (a - b).abs().max().item<float>() / a.abs().max().item<float>();
        Assert.True(rel < 0.05, $"bf16 relative logit error {rel:F4}");
    }

    [Fact]
    public void InvalidSettingsAreRejected()
    {
        using var model = TinyModels.Create();
        var sampler = new ImageGenerator(model);
        Assert.Throws<ArgumentOutOfRangeException>(() => sampler.Generate([Req(9, 1)]));
        Assert.Throws<ArgumentOutOfRangeException>(() => sampler.Generate([Req(0, 1, new SamplingSettings { TopP = 1.5 })]));
        Assert.Throws<ArgumentOutOfRangeException>(() => sampler.Generate([Req(0, 1, new SamplingSettings { TopK = -1 })]));
    }
}
