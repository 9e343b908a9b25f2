using Var.Decoding.Core;
using Var.Decoding.Decoders;
using Var.Decoding.Sampling;
using Var.Model;
using Var.Model.Checkpoints;

namespace Var.Decoding.Tests.Decoders;

/// <summary>
/// HMAR decoding against the official generate() (../shared/fixtures/hmar-parity): the plan runs with the fixture's
/// ground-truth tokens forced by a constraint (the official run's sampler returned them), and every next-scale and
/// masked-step input, logit, guided logit and mask position, and the final image, are compared within 1e-4. Also:
/// schedules, errors, batch invariance.
/// </summary>
public class HmarDecodingTests
{
    private static readonly int[] PatchNums = [1, 2, 3, 4];

    // manifest.json constants.mask_schedule: the official run's tokens per pass.
    private static readonly int[][] FixtureSchedule = [[1], [1, 3], [3, 4, 2], [6, 10]];

    private static ModelBundle LoadHmar() => ModelLoader.Load(new ModelSource
    {
        VaeFile = ParityFixture.File("var-parity", "vae.pth"),
        VarFile = ParityFixture.File("hmar-parity", "hmar.pth"),
    });

    private sealed class Recording(IScaleStep inner, Dictionary<string, Tensor> got) : IScaleStep
    {
        public Tensor Logits(DecodingSession session, int si)
        {
            var logits = inner.Logits(session, si);
            got[$"ns.infer.logits.{si}"] = logits.clone().DetachFromDisposeScope();
            got[$"ns.infer.guided.{si}"] = TokenDraw.Guided(session, si, logits).DetachFromDisposeScope();
            return logits;
        }

        public (Tensor IdxBl, Tensor HBChw) Draw(DecodingSession session, int si, Tensor logits2BlV, ScaleSampling scale, ITokenConstraint? constraint) =>
            inner.Draw(session, si, logits2BlV, scale, constraint);
    }

    [SkippableFact]
    public void HmarMatchesTheOfficialGenerate()
    {
        using var expected = StateDict.Read(ParityFixture.File("hmar-parity", "expected.safetensors"));
        using var model = LoadHmar();
        var e = expected.Tensors;
        var labels = e["labels"].data<long>().ToArray();
        var settings = new SamplingSettings { Cfg = 1.5, TopK = 0, TopP = 0 };
        var requests = labels.Select((c, i) => new SampleRequest((int)c, i, settings)).ToArray();
        var got = new Dictionary<string, Tensor>();
        var hmar = model.HmarFor(ModelLoader.HmarRole);
        var schedule = HmarSchedule.FromTokenCounts(FixtureSchedule, PatchNums);
        var step = new HmarScaleStep(hmar, schedule.TokensPerPass, m =>
        {
            string name = $"mask.infer.{m.Scale}.{m.Pass}";
            got[$"{name}.masked"] = m.MaskedBl.clone().DetachFromDisposeScope();
            got[$"{name}.input"] = m.InputBlC.clone().DetachFromDisposeScope();
            got[$"{name}.logits"] = m.LogitsBlV.clone().DetachFromDisposeScope();
        });
        var hook = new ParityFixture.AfterEachScale((session, si) =>
        {
            if (si == session.NumScales - 1) got["final_image01"] = model.Vqvae.FHatToImage(session.FHat).add(1).div(2).DetachFromDisposeScope();
        });
        var plan = DecodingPlan.Single(PatchNums.Length, new Recording(step, got)) with { Constraint = new ParityFixture.GroundTruthTokens(e), Hooks = [hook] };
        using (var scope = NewDisposeScope())
        using (var inference = inference_mode())
        using (var session = DecodingSession.Start(model, requests, allowUnconditional: true))
        {
            DecodingLoop.Run(plan, session);
        }

        int masks = 0;
        for (int si = 0; si < PatchNums.Length; si++)
        {
            ParityFixture.AssertClose(e[$"ns.infer.logits.{si}"], got[$"ns.infer.logits.{si}"], $"ns.infer.logits.{si}");
            ParityFixture.AssertClose(e[$"ns.infer.guided.{si}"], got[$"ns.infer.guided.{si}"], $"ns.infer.guided.{si}");
            for (int s = 1; e.ContainsKey($"mask.infer.{si}.{s}.input"); s++, masks++)
            {
                string name = $"mask.infer.{si}.{s}";
                Assert.True(got.ContainsKey($"{name}.input"), $"{name}: the decoder made no such masked step");
                var at = e[$"{name}.idx_to_mask"].to(ScalarType.Int64);
                var want = zeros(got[$"{name}.masked"].shape, dtype: ScalarType.Bool).scatter_(1, at, ones_like(at, dtype: ScalarType.Bool));
                Assert.True(want.eq(got[$"{name}.masked"]).all().item<bool>(), $"{name}: masked positions differ from the official run's");
                // The official step runs both halves and guides with t = cfg·1e-6; the decoder runs the conditional
                // rows alone, whose logits must match the official guided logits within the tolerance.
                long b = labels.Length;
                ParityFixture.AssertClose(e[$"{name}.input"].narrow(0, 0, b), got[$"{name}.input"], $"{name}.input");
                ParityFixture.AssertClose(e[$"{name}.logits"].narrow(0, 0, b), got[$"{name}.logits"], $"{name}.logits");
                ParityFixture.AssertClose(e[$"{name}.guided"], got[$"{name}.logits"], $"{name}.guided");
            }
        }
        Assert.Equal(4, masks);
        Assert.Equal(4, got.Keys.Count(k => k.EndsWith(".masked")));
        ParityFixture.AssertClose(e["final_image01"], got["final_image01"], "final_image01");
        foreach (var t in got.Values) t.Dispose();
    }

    [Theory]
    [InlineData(4, 2, new[] { 1, 3 })]
    [InlineData(9, 4, new[] { 1, 1, 2, 5 })]
    [InlineData(9, 3, new[] { 1, 3, 5 })]
    [InlineData(16, 2, new[] { 5, 11 })]
    [InlineData(4, 4, new[] { 1, 1, 1, 1 })]
    [InlineData(256, 1, new[] { 256 })]
    public void PassesSplitTokensAsTheReferenceLists(int tokens, int passes, int[] want)
    {
        int pn = (int)Math.Sqrt(tokens);
        var schedule = HmarSchedule.FromPasses([passes], [pn]);
        Assert.Equal(want, schedule.TokensPerPass[0]);
    }

    [Fact]
    public void TheDefaultIsTheReferenceSchedule()
    {
        int[] official = [1, 2, 3, 4, 5, 6, 8, 10, 13, 16];
        var schedule = HmarSchedule.Default(official);
        int[][] reference = [[1], [1, 3], [1, 1, 2, 5], [16], [25], [36], [64], [100], [169], [256]];
        Assert.Equal(reference, schedule.TokensPerPass);
        Assert.Equal(14, schedule.Passes.Sum());
    }

    [Theory]
    [InlineData(new[] { 1, 2, 3 }, "3 entries")]
    [InlineData(new[] { 1, 0, 1, 1 }, "steps_per_scale[1] is 0")]
    [InlineData(new[] { 1, 2, -1, 1 }, "steps_per_scale[2] is -1")]
    [InlineData(new[] { 2, 1, 1, 1 }, "steps_per_scale[0] is 2, more passes than scale 0")]
    [InlineData(new[] { 1, 5, 1, 1 }, "steps_per_scale[1] is 5")]
    public void BadSchedulesAreErrorsNamingTheField(int[] passes, string message)
    {
        var error = Assert.Throws<ArgumentException>(() => HmarSchedule.FromPasses(passes, PatchNums));
        Assert.Contains("steps_per_scale", error.Message);
        Assert.Contains(message, error.Message);
    }

    [SkippableFact]
    public void HmarImagesAreBatchInvariant()
    {
        using var model = LoadHmar();
        var decoder = new HmarDecoding([1, 2, 3, 3]);
        var generator = new ImageGenerator(model, decoder);
        var settings = new SamplingSettings { Cfg = 2.0, TopK = 20, TopP = 0.9 };
        var requests = new[] { new SampleRequest(3, 11, settings), new SampleRequest(7, 12, settings with { Cfg = 0.5 }), new SampleRequest(0, 13, settings with { TopK = 0 }) };
        var batch = generator.Generate(requests);
        for (int i = 0; i < requests.Length; i++)
        {
            var alone = generator.Generate([requests[i]])[0]!;
            Assert.Equal(alone.Tokens.SelectMany(t => t), batch[i]!.Tokens.SelectMany(t => t));
            // Same tokens, same f̂; the fixture's VQVAE decoder may round its batched convolutions differently (≤ 1 level).
            Assert.True(alone.Rgb.Zip(batch[i]!.Rgb).All(p => Math.Abs(p.First - p.Second) <= 1), $"request {i}: the image depends on the batch");
        }
        // The masked steps change images: the same seeds without them give other tokens somewhere.
        var plain = new ImageGenerator(model, new HmarDecoding([1, 1, 1, 1])).Generate(requests);
        Assert.Contains(Enumerable.Range(0, requests.Length), i => !plain[i]!.Tokens.SelectMany(t => t).SequenceEqual(batch[i]!.Tokens.SelectMany(t => t)));
    }

    [SkippableFact]
    public void AnHmarModelDecodesWithHmarByDefault()
    {
        using var model = LoadHmar();
        var decoder = Assert.IsType<HmarDecoding>(new ImageGenerator(model).Decoder);
        Assert.Equal(ModelLoader.HmarRole, decoder.Transformer);
        Assert.Null(decoder.PassesPerScale);
        Assert.Throws<ArgumentException>(() => new VarDecoding().Plan(model));
    }

    [SkippableFact]
    public void KnownTokensAreNeverMasked()
    {
        using var model = LoadHmar();
        var hmar = model.HmarFor(ModelLoader.HmarRole);
        var everyMasked = new List<bool[]>();
        var step = new HmarScaleStep(hmar, HmarSchedule.FromPasses([1, 2, 4, 3], PatchNums).TokensPerPass,
            m => everyMasked.Add(m.MaskedBl.cpu().flatten().data<bool>().ToArray()));
        var known = new KnownEven();
        var plan = DecodingPlan.Single(PatchNums.Length, step) with { Constraint = known };
        var requests = new[] { new SampleRequest(1, 5, new SamplingSettings { TopK = 0, TopP = 0 }) };
        using (var scope = NewDisposeScope())
        using (var inference = inference_mode())
        using (var session = DecodingSession.Start(model, requests))
        {
            DecodingLoop.Run(plan, session);
            for (int si = 1; si < PatchNums.Length; si++)
                Assert.All(session.Rows[0].Tokens[si].Where((_, i) => i % 2 == 0), t => Assert.Equal(KnownEven.Token, t));
        }
        Assert.NotEmpty(everyMasked);
        Assert.All(everyMasked, m => Assert.DoesNotContain(Enumerable.Range(0, m.Length), i => i % 2 == 0 && m[i]));
    }

    /// <summary>Knows every even position of every scale: token 7.</summary>
    private sealed class KnownEven : ITokenConstraint
    {
        public const int Token = 7;

        public (Tensor IdxBl, Tensor? ForcedBl) Apply(DecodingSession session, int si, Tensor idxBl)
        {
            var even = arange(idxBl.shape[1], device: idxBl.device).remainder(2).eq(0).unsqueeze(0).expand_as(idxBl);
            return (where(even, full_like(idxBl, Token), idxBl), even);
        }
    }
}
