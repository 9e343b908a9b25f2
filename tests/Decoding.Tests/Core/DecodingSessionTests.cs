using Var.Decoding.Core;
using Var.Decoding.Decoders;
using Var.Decoding.Sampling;
using Var.Model;
using Var.Model.Classes;
using Var.Model.Transformer;

namespace Var.Decoding.Tests.Core;

/// <summary>The decoding session's gathers and subsets, and plans that switch steps, against plain generation.</summary>
public class DecodingSessionTests
{
    private static readonly SamplingSettings Plain = new() { Cfg = 2.0, TopK = 20, TopP = 0.9 };

    private static readonly SampleRequest[] Requests =
    [
        new(0, 11, Plain),
        new(3, 12, new SamplingSettings { Cfg = 0, TopK = 0, TopP = 0 }),
        new(1, 13, Plain),
        new(4, 14, new SamplingSettings { Cfg = 4, TopK = 5, TopP = 0.5, MoreSmooth = true }),
    ];

    /// <summary>Runs <paramref name="plan"/> with a hook that records every row's tokens and f̂ after the last scale.</summary>
    private static List<(int Origin, int[][] Tokens, float[] FHat)> RunRecording(ModelBundle model, DecodingPlan plan, IReadOnlyList<SampleRequest> requests)
    {
        var rows = new List<(int, int[][], float[])>();
        var record = new LastScaleRecorder(rows);
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        using var session = DecodingSession.Start(model, requests);
        DecodingLoop.Run(plan.WithHook(record), session);
        return rows;
    }

    private sealed class LastScaleRecorder(List<(int, int[][], float[])> rows) : IScaleHook
    {
        public void AfterScale(DecodingSession session, int si)
        {
            if (si < session.NumScales - 1) return;
            var fHat = session.FHat.to(ScalarType.Float32).contiguous();
            int per = (int)(fHat.numel() / session.Count);
            var all = fHat.data<float>().ToArray();
            for (int i = 0; i < session.Count; i++)
                rows.Add((session.Rows[i].Origin, session.Rows[i].Tokens.Select(t => t.ToArray()).ToArray(), all[(i * per)..((i + 1) * per)]));
        }
    }

    /// <summary>Calls an action on the session after one scale.</summary>
    private sealed class AtScale(int scale, Action<DecodingSession> action) : IScaleHook
    {
        public void AfterScale(DecodingSession session, int si)
        {
            if (si == scale) action(session);
        }
    }

    /// <summary>Records the logits a step returns, by scale.</summary>
    private sealed class RecordingStep(IScaleStep inner, Dictionary<int, Tensor> logits) : IScaleStep
    {
        public Tensor Logits(DecodingSession session, int si)
        {
            var l = inner.Logits(session, si);
            logits[si] = l.clone().DetachFromDisposeScope();
            return l;
        }
    }

    [Fact]
    public void GatherWithRepeatsThenTheRemainingScalesEqualsEachChosenRowAlone()
    {
        using var model = TinyModels.Create();
        int[] chosen = [2, 0, 2, 3, 2];
        var plan = new VarDecoding().Plan(model).WithHook(new AtScale(1, s => s.Gather(chosen)));
        var gathered = RunRecording(model, plan, Requests);
        Assert.Equal(chosen, gathered.Select(r => r.Origin));
        for (int j = 0; j < chosen.Length; j++)
        {
            var alone = RunRecording(model, new VarDecoding().Plan(model), [Requests[chosen[j]]]).Single();
            Assert.Equal(alone.Tokens, gathered[j].Tokens);
            // f̂ of a batch of 5 and of 1 differ only in float rounding (convolutions batch differently).
            double diff = alone.FHat.Zip(gathered[j].FHat, (x, y) => Math.Abs(x - y)).Max();
            Assert.True(diff < 1e-5, $"row {j}: f̂ differs by {diff:E2}");
        }
        // The repeated rows are copies that each continue the row's own draws, and rows differ from each other.
        Assert.NotEqual(gathered[0].Tokens, gathered[1].Tokens);
    }

    [Fact]
    public void SubsetThenContinueEqualsTheSameRowsWithoutTheOthers()
    {
        using var model = TinyModels.Create();
        var plan = new VarDecoding().Plan(model).WithHook(new AtScale(0, s => s.Subset([1, 3])));
        IReadOnlyList<GeneratedImage?> subset, alone;
        using (var scope = NewDisposeScope())
        using (var inference = inference_mode())
        using (var session = DecodingSession.Start(model, Requests))
        {
            DecodingLoop.Run(plan, session);
            subset = session.Finish();
        }
        alone = new ImageGenerator(model).Generate([Requests[1], Requests[3]]);
        Assert.Null(subset[0]);
        Assert.Null(subset[2]);
        Assert.Equal(alone[0]!.Tokens, subset[1]!.Tokens);
        Assert.Equal(alone[0]!.Rgb, subset[1]!.Rgb);
        Assert.Equal(alone[1]!.Tokens, subset[3]!.Tokens);
        Assert.Equal(alone[1]!.Rgb, subset[3]!.Rgb);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void APrefillStepGivesTheCachedStepsLogitsAndImages(int handOver)
    {
        using var model = TinyModels.Create();
        var t = model.Transformer;
        int sn = model.Vqvae.Config.PatchNums.Length;
        var cachedLogits = new Dictionary<int, Tensor>();
        var prefillLogits = new Dictionary<int, Tensor>();
        var cached = DecodingPlan.Single(sn, new RecordingStep(new CachedScaleStep(t), cachedLogits));
        var switched = new DecodingPlan(sn,
        [
            new PlanSegment(0, handOver, new CachedScaleStep(t)),
            new PlanSegment(handOver, handOver + 1, new RecordingStep(new PrefillScaleStep(t), prefillLogits)),
            .. handOver + 1 < sn ? [new PlanSegment(handOver + 1, sn, new CachedScaleStep(t))] : Array.Empty<PlanSegment>(),
        ]);
        var a = RunRecording(model, cached, Requests);
        var b = RunRecording(model, switched, Requests);
        double diff = (cachedLogits[handOver] - prefillLogits[handOver]).abs().max().item<float>();
        Assert.True(diff < 1e-4, $"prefill logits at scale {handOver} differ by {diff:E2}");
        Assert.True(cachedLogits[handOver].std().item<float>() > 0.1, "logits are nearly constant: the comparison proves nothing");
        Assert.Equal(a.Select(r => r.Tokens), b.Select(r => r.Tokens));
        foreach (var l in cachedLogits.Values.Concat(prefillLogits.Values)) l.Dispose();
    }

    [Fact]
    public void AHandOverClosesTheFirstTransformerAndContinuesWithTheSecond()
    {
        using var a = TinyModels.Create(seed: 1);
        using var b = TinyModels.Create(seed: 2);
        // A bundle of two transformers sharing a's tokenizer (b's transformer is moved over to it).
        var drafter = a.Transformer;
        var refiner = b.Transformer;
        var bundle = new ModelBundle("pair", a.Vqvae, new Dictionary<string, VarTransformer> { ["var"] = drafter, ["refiner"] = refiner }, "var",
            new Dictionary<string, Var.Model.Classifiers.ImageClassifier>(), ClassCatalog.Unnamed(5), CPU, ScalarType.Float32);
        int sn = bundle.Vqvae.Config.PatchNums.Length;
        var contexts = new List<VarTransformer?>();
        var plan = new DecodingPlan(sn,
        [
            new PlanSegment(0, 2, new CachedScaleStep(drafter)),
            new PlanSegment(2, 3, new PrefillScaleStep(refiner)),
            new PlanSegment(3, sn, new CachedScaleStep(refiner)),
        ])
        { Hooks = [new ContextProbe(contexts)] };
        var drafted = RunRecording(bundle, DecodingPlan.Single(sn, new CachedScaleStep(drafter)), Requests);
        var pair = RunRecording(bundle, plan, Requests);
        Assert.Equal([drafter, drafter, refiner, refiner], contexts);
        for (int i = 0; i < Requests.Length; i++)
        {
            // The drafted scales are the drafter's; the refined ones come from another model.
            Assert.Equal(drafted[i].Tokens.Take(2), pair[i].Tokens.Take(2));
        }
        Assert.NotEqual(drafted.Select(r => r.Tokens[3]), pair.Select(r => r.Tokens[3]));
    }

    private sealed class ContextProbe(List<VarTransformer?> seen) : IScaleHook
    {
        public void AfterScale(DecodingSession session, int si) => seen.Add(session.Context?.Transformer);
    }
}
