using Var.Decoding.Core;
using Var.Decoding.Decoders;
using Var.Decoding.Sampling;
using Var.Model;
using Var.Model.Checkpoints;

namespace Var.Decoding.Tests.Decoders;

/// <summary>
/// CoDe against the official code (../shared/fixtures/code-parity): the plan runs with the fixture's ground-truth
/// tokens forced by a constraint, and every logit, guided logit, sampling distribution, f̂, hand-over and final image
/// is compared within 1e-4 for N = 1, 2, 3.
/// </summary>
public class CodeParityTests
{
    private static readonly int[] PatchNums = [1, 2, 3, 4];
    private static readonly int[] TopKPerScale = [0, 48, 24, 12];
    private static readonly double[] TempPerScale = [1.1, 1.2, 1.3, 0.9];

    /// <summary>The fixture's drafter (var-parity var_l2.pth) and refiner sharing the var-parity VQVAE.</summary>
    private static ModelBundle LoadPair() => ModelLoader.Load(new ModelSource
    {
        VaeFile = ParityFixture.File("var-parity", "vae.pth"),
        VarFile = ParityFixture.File("var-parity", "var_l2.pth"),
        RefinerFile = ParityFixture.File("code-parity", "refiner.pth"),
        PatchNums = PatchNums,
    });

    /// <summary>Keeps each scale's logits, guided logits and sampling distribution, as computed in the loop.</summary>
    private sealed class Recording(IScaleStep inner, Dictionary<string, Tensor> got, DecodingPlan plan) : IScaleStep
    {
        public Tensor Logits(DecodingSession session, int si)
        {
            var logits = inner.Logits(session, si);
            got[$"logits.{si}"] = logits.clone().DetachFromDisposeScope();
            got[$"guided.{si}"] = TokenDraw.Guided(session, si, logits, plan.SamplingAt(si)).DetachFromDisposeScope();
            got[$"probs.{si}"] = TokenDraw.Filtered(session, si, logits, plan.SamplingAt(si)).softmax(-1).DetachFromDisposeScope();
            return logits;
        }
    }

    [SkippableTheory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void CodeMatchesTheOfficialRun(int n)
    {
        using var expected = StateDict.Read(ParityFixture.File("code-parity", "expected.safetensors"));
        using var model = LoadPair();
        var e = expected.Tensors;
        var labels = e["labels"].data<long>().ToArray();
        var settings = new SamplingSettings { Cfg = 1.5, TopK = 0, TopP = 0.85 };
        var requests = labels.Select((c, i) => new SampleRequest((int)c, i, settings)).ToArray();

        var got = new Dictionary<string, Tensor>();
        var basePlan = new CollaborativeDecoding(n).Plan(model);
        var scales = Enumerable.Range(0, PatchNums.Length).Select(si => new ScaleSampling { TopK = TopKPerScale[si], Temperature = TempPerScale[si] }).ToArray();
        var hook = new ParityFixture.AfterEachScale((session, si) =>
        {
            got[$"f_hat.{si}"] = session.FHat.clone().DetachFromDisposeScope();
            if (si == n - 1) got["token_hub"] = session.InputsUpTo(n).clone().DetachFromDisposeScope();
            if (si == session.NumScales - 1) got["image01"] = model.Vqvae.FHatToImage(session.FHat).add(1).div(2).DetachFromDisposeScope();
        });
        var plan = new DecodingPlan(PatchNums.Length, basePlan.Segments.Select(s => s with { Step = new Recording(s.Step, got, basePlan with { Scales = scales }) }).ToArray())
        {
            Scales = scales,
            Constraint = new ParityFixture.GroundTruthTokens(e),
            Hooks = [hook],
        };
        using (var scope = NewDisposeScope())
        using (var inference = inference_mode())
        using (var session = DecodingSession.Start(model, requests, allowUnconditional: true))
        {
            DecodingLoop.Run(plan, session);
        }

        var ends = new[] { 1, 5, 14, 30 };
        for (int si = 0; si < PatchNums.Length; si++)
        {
            string stage = si < n ? "draft" : "refine";
            var p = $"N{n}.{stage}";
            if (si < n) ParityFixture.AssertClose(e[$"{p}.logits.{si}"], got[$"logits.{si}"], $"{p}.logits.{si}");
            else if (si == n)
            {
                var prefill = e[$"N{n}.refine.prefill.logits"];
                int begin = si == 0 ? 0 : ends[si - 1];
                ParityFixture.AssertClose(prefill.narrow(1, begin, ends[si] - begin), got[$"logits.{si}"], $"N{n}.refine.prefill.logits[{begin}:{ends[si]}]");
            }
            else ParityFixture.AssertClose(e[$"{p}.logits.{si}"], got[$"logits.{si}"], $"{p}.logits.{si}");
            ParityFixture.AssertClose(e[$"{p}.guided.{si}"], got[$"guided.{si}"], $"{p}.guided.{si}");
            ParityFixture.AssertClose(e[$"{p}.probs.{si}"], got[$"probs.{si}"], $"{p}.probs.{si}");
            ParityFixture.AssertClose(e[$"{p}.f_hat.{si}"], got[$"f_hat.{si}"], $"{p}.f_hat.{si}");
        }
        ParityFixture.AssertClose(e[$"N{n}.handover.f_hat"], got[$"f_hat.{n - 1}"], $"N{n}.handover.f_hat");
        ParityFixture.AssertClose(e[$"N{n}.handover.token_hub"], got["token_hub"], $"N{n}.handover.token_hub");
        ParityFixture.AssertClose(e[$"N{n}.final_image01"], got["image01"], $"N{n}.final_image01");
        foreach (var t in got.Values) t.Dispose();
    }

    [SkippableFact]
    public void TheRefinerTeacherForcedLogitsMatch()
    {
        using var expected = StateDict.Read(ParityFixture.File("code-parity", "expected.safetensors"));
        using var model = LoadPair();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var e = expected.Tensors;
        ParityFixture.AssertClose(e["refiner.logits_teacher"], model.TransformerFor("refiner").forward(e["labels"], e["vae.var_input"]), "refiner.logits_teacher");
    }
}
