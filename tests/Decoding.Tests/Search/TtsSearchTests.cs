using Var.Decoding.Core;
using Var.Decoding.Decoders;
using Var.Decoding.Sampling;
using Var.Decoding.Search;
using Var.Model;
using Var.Model.Checkpoints;

namespace Var.Decoding.Tests.Search;

/// <summary>TTS-VAR search on the decoding core: schedules, selections, gathers and the properties issue 11 asks for.</summary>
public class TtsSearchTests
{
    private static readonly SamplingSettings Settings = new() { Cfg = 2.0, TopK = 0, TopP = 0 };

    private static SampleRequest[] Requests(params (int Class, long Seed)[] r) => r.Select(x => new SampleRequest(x.Class, x.Seed, Settings)).ToArray();

    private static IReadOnlyList<GeneratedImage> Generate(ModelBundle model, IDecoder decoder, IReadOnlyList<SampleRequest> requests) =>
        new ImageGenerator(model, decoder).Generate(requests).Select(i => i!).ToArray();

    /// <summary>A search on the tiny model (no classifier): implicit reward, latent features, clustering and resampling.</summary>
    private static TtsSearch TinySearch(double budget) => new(budget, ImplicitReward.RoleName)
    {
        Features = "latent",
        ClusterScales = [0],
        ResampleScales = [1, 2],
        Lambda = 0.5,
    };

    [Fact]
    public void BudgetOneIsPlainSampling()
    {
        using var model = TinyModels.Create();
        var requests = Requests((0, 11), (3, 12), (1, 13));
        var plain = Generate(model, new VarDecoding(), requests);
        var search = Generate(model, TinySearch(1), requests);
        Assert.Equal(1, TinySearch(1).Resolve(model).Schedule.Widest);
        for (int i = 0; i < requests.Length; i++)
        {
            Assert.Equal(plain[i].Tokens, search[i].Tokens);
            Assert.Equal(plain[i].Rgb, search[i].Rgb);
        }
    }

    [Fact]
    public void ScheduleStaysWithinTheBudgetAndShrinksAfterSelections()
    {
        int[] patchNums = [1, 2, 3, 4, 6, 8];
        var shape = TtsSearch.Shape(6, [1, 2, 4]);
        Assert.Equal([8.0, 8, 4, 2, 2, 1], shape);
        foreach (var budget in new[] { 1.0, 2, 4, 8 })
        {
            var s = SearchSchedule.ForBudget(shape, patchNums, budget);
            Assert.True(s.Work <= budget + 1e-9, $"work {s.Work} over budget {budget}");
            Assert.True(budget == 1 ? s.Work == 1 : s.Work > budget * 0.75, $"budget {budget} leaves work {s.Work} unused");
            for (int si = 1; si < 6; si++) Assert.True(s.Candidates[si] <= s.Candidates[si - 1]);
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => SearchSchedule.ForBudget(shape, patchNums, 0.5));
        Assert.Throws<ArgumentException>(() => SearchSchedule.ForBudget([1.0, 2, 1, 1, 1, 1], patchNums, 2));
        using var model = TinyModels.Create();
        // A drop after a scale that neither clusters nor resamples is refused.
        var bad = new TtsSearch(2, ImplicitReward.RoleName) { Candidates = [4, 2, 2, 1], ClusterScales = [1], ResampleScales = [2], Features = "latent" };
        Assert.Contains("drop after scale 0", Assert.Throws<ArgumentException>(() => bad.Plan(model)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new TtsSearch(TtsSearch.MaxBudget + 1, ImplicitReward.RoleName).Plan(model));
    }

    [Fact]
    public void ASearchIsReproducibleAndIndependentOfItsBatchMates()
    {
        using var model = TinyModels.Create();
        var search = TinySearch(4);
        Assert.True(search.Resolve(model).Schedule.Widest > 1);
        var alone = Generate(model, search, Requests((2, 21)));
        var again = Generate(model, search, Requests((2, 21)));
        var batched = Generate(model, search, Requests((4, 5), (2, 21), (0, 7), (2, 22)));
        Assert.Equal(alone[0].Tokens, again[0].Tokens);
        Assert.Equal(alone[0].Tokens, batched[1].Tokens);
        Assert.NotEqual(batched[1].Tokens, batched[3].Tokens);
        // The search really chose something other than the plain sample for some request.
        var plain = Generate(model, new VarDecoding(), Requests((4, 5), (2, 21), (0, 7), (2, 22)));
        Assert.Contains(Enumerable.Range(0, 4), i => !plain[i].Tokens.SelectMany(t => t).SequenceEqual(batched[i].Tokens.SelectMany(t => t)));
    }

    [Fact]
    public void FinalDrawsAddCandidatesWithoutTransformerWork()
    {
        using var model = TinyModels.Create();
        var requests = Requests((2, 81), (0, 82));
        var search = TinySearch(4);
        var drawn = search with { FinalDraws = 3 };
        var schedule = search.Resolve(model).Schedule;
        Assert.Equal(Math.Max(schedule.Widest, schedule.Candidates[^1] * 3), drawn.RowsPerImage(model));

        (long Tokens, List<(int Origin, string Last, double Reward)> Final, IReadOnlyList<GeneratedImage> Images) Run(TtsSearch s, IReadOnlyList<SampleRequest> r)
        {
            var final = new List<(int, string, double)>();
            long tokens = 0;
            var images = new ImageGenerator(model, s with
            {
                OnRewards = (si, session, rewards) =>
                {
                    if (si == session.NumScales - 1)
                        final.AddRange(session.Rows.Select((row, i) => (row.Origin, string.Join(",", row.Tokens[si]), rewards[i])));
                },
            }).Generate(r, onScale: p => tokens = p.Scale == p.Session.NumScales - 1 ? tokens + p.Session.QueryTokens : tokens);
            return (tokens, final, images.Select(i => i!).ToArray());
        }

        var once = Run(search, requests);
        var thrice = Run(drawn, requests);
        // The same transformer work: the extra rows draw from logits computed once per survivor.
        int plainTokens = model.Vqvae.Config.PatchNums.Sum(p => p * p);
        Assert.Equal((long)Math.Round(schedule.Work * plainTokens * requests.Length), once.Tokens);
        Assert.Equal(once.Tokens, thrice.Tokens);
        Assert.Equal(3 * once.Final.Count, thrice.Final.Count);
        // The first draw of each survivor is the candidate the search makes without extra draws, so the final pick
        // (the best by reward) is at least as good, and the extra draws really differ.
        Assert.Subset(thrice.Final.Select(f => f.Last).ToHashSet(), once.Final.Select(f => f.Last).ToHashSet());
        Assert.True(thrice.Final.Select(f => f.Last).Distinct().Count() > once.Final.Select(f => f.Last).Distinct().Count(), "the extra draws repeated the first");
        for (int o = 0; o < requests.Length; o++)
            Assert.True(thrice.Final.Where(f => f.Origin == o).Max(f => f.Reward) >= once.Final.Where(f => f.Origin == o).Max(f => f.Reward) - 1e-9);
        // Reproducible and independent of the batch.
        var alone = Run(drawn, [requests[1]]);
        Assert.Equal(thrice.Images[1].Tokens, alone.Images[0].Tokens);
        // Extra draws at the resample scales too: the resampling chooses among candidates × draws, still at the same work.
        var wide = search with { FinalDraws = 2, ResampleDraws = 3 };
        Assert.Equal(Enumerable.Range(0, schedule.Candidates.Count).Max(si => schedule.Candidates[si] * (si == schedule.Candidates.Count - 1 ? 2 : si is 1 or 2 ? 3 : 1)), wide.RowsPerImage(model));
        var widened = Run(wide, requests);
        Assert.Equal(once.Tokens, widened.Tokens);
        Assert.Equal(2 * once.Final.Count, widened.Final.Count);
        Assert.Equal(widened.Images[1].Tokens, Run(wide, [requests[1]]).Images[0].Tokens);
        // Best-of-N and budget 1 never widen.
        Assert.Equal(1, (TtsSearch.BestOfN(2, ImplicitReward.RoleName) with { FinalDraws = 4 }).ResolveFinalDraws(model));
        Assert.Throws<ArgumentOutOfRangeException>(() => (search with { FinalDraws = 0 }).Plan(model));
        Assert.Throws<ArgumentOutOfRangeException>(() => (search with { ResampleDraws = TtsSearch.MaxDraws + 1 }).Plan(model));
    }

    [Fact]
    public void QueryTokensCountEveryPassOfEveryRow()
    {
        using var model = TinyModels.Create();
        long tokens = 0;
        var requests = Requests((1, 91), (2, 92), (3, 93));
        new ImageGenerator(model, new VarDecoding()).Generate(requests, onScale: p => tokens = p.Session.QueryTokens);
        Assert.Equal(requests.Length * model.Vqvae.Config.PatchNums.Sum(p => p * p), tokens);
    }

    /// <summary>Notes the rows' generators after a scale and can subset the batch there; its recorder keeps every row before the final pick.</summary>
    private sealed class Probe(int scale, int? keep) : IScaleHook
    {
        public List<(int Origin, int[][] Tokens)> Final { get; } = [];

        public List<long> SeedsAtScale { get; } = [];

        public void AfterScale(DecodingSession session, int si)
        {
            if (si != scale) return;
            SeedsAtScale.AddRange(session.Rows.Select(r => r.Random.Seed));
            if (keep is { } k) session.Subset([k]);
        }

        public IScaleHook Recorder => new FinalRecorder(Final);

        private sealed class FinalRecorder(List<(int, int[][])> final) : IScaleHook
        {
            public void AfterScale(DecodingSession session, int si)
            {
                if (si == session.NumScales - 1)
                    final.AddRange(session.Rows.Select(r => (r.Origin, r.Tokens.Select(t => t.ToArray()).ToArray())));
            }
        }
    }

    [Fact]
    public void ContinuingASurvivorEqualsContinuingItAloneFromTheSameState()
    {
        using var model = TinyModels.Create();
        // 8 candidates, clustered to 6 after scale 0, resampled (with replacement, high λ: duplicates) to 4 after scale 1.
        var search = new TtsSearch(1, ImplicitReward.RoleName) { Candidates = [8, 6, 4, 4], ClusterScales = [0], ResampleScales = [1], Lambda = 5, Features = "latent" };
        var request = Requests((1, 31));
        using var scope = NewDisposeScope();
        using var inference = inference_mode();

        List<(int, int[][])> RunWith(Probe probe)
        {
            var plan = search.Plan(model);
            // The probe records before the search's final pick and acts after the search's selection at its scale.
            plan = plan with { Hooks = [.. plan.Hooks.Take(plan.Hooks.Count - 1), probe.Recorder, plan.Hooks[^1], probe] };
            using var session = DecodingSession.Start(model, request);
            DecodingLoop.Run(plan, session);
            return probe.Final;
        }

        var all = new Probe(1, null);
        var survivors = RunWith(all);
        Assert.Equal(4, survivors.Count);
        for (int j = 0; j < survivors.Count; j++)
        {
            var alone = RunWith(new Probe(1, j));
            Assert.Equal(survivors[j].Item2, Assert.Single(alone).Item2);
        }
        // Rows that share their history up to scale 1 (resampled duplicates) continue on different generators.
        var seeds = all.SeedsAtScale;
        Assert.Equal(seeds.Count, seeds.Distinct().Count());
        var pairs = from a in Enumerable.Range(0, 4) from b in Enumerable.Range(0, 4) where a < b select (survivors[a].Item2, survivors[b].Item2);
        var duplicates = pairs.Where(p => p.Item1[0].SequenceEqual(p.Item2[0]) && p.Item1[1].SequenceEqual(p.Item2[1])).ToList();
        Assert.NotEmpty(duplicates);
        Assert.All(duplicates, p => Assert.False(p.Item1[3].SequenceEqual(p.Item2[3]), "resampled copies drew the same tokens"));
    }

    [Fact]
    public void ACancelledRequestLeavesWithAllItsCandidatesAtTheNextScale()
    {
        using var model = TinyModels.Create();
        using var cancel = new CancellationTokenSource();
        var requests = new[]
        {
            new SampleRequest(1, 71, Settings),
            new SampleRequest(2, 72, Settings) { Cancellation = cancel.Token },
        };
        var rowsPerScale = new List<int[]>();
        var images = new ImageGenerator(model, TinySearch(4)).Generate(requests, onScale: p =>
        {
            rowsPerScale.Add(p.Rows.ToArray());
            if (p.Scale == 1) cancel.Cancel();
        });
        Assert.NotNull(images[0]);
        Assert.Null(images[1]);
        Assert.Contains(1, rowsPerScale[1]);
        Assert.True(rowsPerScale[1].Count(r => r == 1) > 1, "the search had several candidates for the cancelled request");
        Assert.DoesNotContain(1, rowsPerScale[2]);
        // The other request's image is the one it makes alone.
        Assert.Equal(Generate(model, TinySearch(4), [requests[0]])[0].Tokens, images[0]!.Tokens);
    }

    [Fact]
    public void GatherWithForkKeepsTheFirstCopyAndDerivesTheOthers()
    {
        using var model = TinyModels.Create();
        using var scope = NewDisposeScope();
        using var session = DecodingSession.Start(model, Requests((0, 41), (1, 42)));
        session.Gather([0, 0, 1, 0], fork: true);
        var seeds = session.Rows.Select(r => r.Random.Seed).ToArray();
        Assert.Equal(41, seeds[0]);
        Assert.Equal(42, seeds[2]);
        Assert.Equal(4, seeds.Distinct().Count());
        Assert.Equal(RowRandom.Mix(41, 1), seeds[1]);
        Assert.Equal(RowRandom.Mix(41, 2), seeds[3]);
    }

    [Fact]
    public void ClusteringKeepsOneMemberOfEachWellSeparatedGroup()
    {
        double[][] points = [[0, 0], [10, 10], [0.1, 0], [10, 10.2], [-5, 5], [0, 0.1], [-5.1, 5]];
        var picked = DiversitySelection.Select(points, 3, new SearchRandom(7));
        Assert.Equal(3, picked.Distinct().Count());
        var groups = picked.Select(i => points[i][0] > 5 ? "b" : points[i][0] < -2 ? "c" : "a").ToArray();
        Assert.Equal(3, groups.Distinct().Count());
        Assert.Equal(Enumerable.Range(0, 7), DiversitySelection.Select(points, 7, new SearchRandom(7)).Order());
    }

    [Fact]
    public void ResamplingWeightsFollowThePotentialAndAreSanitised()
    {
        var w = PotentialSelection.Weights([0.0, Math.Log(3)], 1);
        Assert.Equal(0.25, w[0], 9);
        Assert.Equal(0.75, w[1], 9);
        Assert.Equal([0.5, 0.5], PotentialSelection.Weights([double.NaN, double.NaN], 10));
        Assert.Equal([0.0, 1.0, 0.0], PotentialSelection.Weights([1, double.PositiveInfinity, 2], 10));
        Assert.Equal([1.0, 0.0], PotentialSelection.Weights([0, double.NegativeInfinity], 10));
        Assert.Equal(2.0, PotentialSelection.EffectiveSampleSize([0.5, 0.5]), 9);
        Assert.Equal(3.0, PotentialSelection.Of(Potential.Max, 1, [3, 2]));
        Assert.Equal(-1.0, PotentialSelection.Of(Potential.Diff, 1, [3, 2]));
        Assert.Equal(6.0, PotentialSelection.Of(Potential.Sum, 1, [3, 2]));
        Assert.Equal(1.0, PotentialSelection.Of(Potential.Max, 1, []));
        // λ = 0 is uniform: the draw then reaches every candidate.
        var draws = PotentialSelection.Draw(PotentialSelection.Weights([5.0, 0, -5], 0), 300, new SearchRandom(3));
        Assert.Equal([0, 1, 2], draws.Distinct().Order());
    }

    [Fact]
    public void TheImplicitRewardIsTheConditionalMinusUnconditionalLogLikelihood()
    {
        using var model = TinyModels.Create();
        var request = Requests((3, 51));
        double recorded = double.NaN;
        var search = TtsSearch.BestOfN(1, ImplicitReward.RoleName) with { OnRewards = (si, s, r) => recorded = si == s.NumScales - 1 ? r[0] : recorded };
        var image = Generate(model, search, request)[0];
        // Teacher-force the image's tokens with the class and with the unconditional class.
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        var t = model.Transformer;
        var perScale = image.Tokens.Select(x => tensor(x.Select(v => (long)v).ToArray(), dtype: ScalarType.Int64).unsqueeze(0)).ToList();
        var input = model.Vqvae.Quantizer.TokensToVarInput(perScale);
        var target = cat(perScale.ToArray(), 1);
        double LogLik(int cls)
        {
            var logits = t.forward(tensor(new long[] { cls }, dtype: ScalarType.Int64), input);
            return logits.log_softmax(-1).gather(2, target.unsqueeze(2)).sum().item<float>();
        }
        double expected = LogLik(3) - LogLik(t.Config.NullClass);
        Assert.Equal(expected, recorded, 2);
    }

    [Fact]
    public void SamplersRefuseTheJudge()
    {
        var weights = ModelLoader.WeightsDirectory();
        Assert.True(weights is not null, "weights/ not found");
        using var model = ModelLoader.Load(new ModelSource { Model = Path.Combine(weights!, "fmnist") });
        Assert.DoesNotContain(model.Classifiers.Keys, ModelLoader.IsJudge);
        // Every judge the folder ships (the CNN "judge" and the MLP "judge2") is refused, as reward and as features.
        var judges = ModelLoader.JudgeRoles(Path.Combine(weights!, "fmnist"));
        Assert.Contains("judge2", judges);
        foreach (var judge in judges)
        {
            var reward = Assert.Throws<ArgumentException>(() => new TtsSearch(2, judge).Plan(model));
            Assert.Contains($"'{judge}' is an evaluation judge", reward.Message);
            Assert.Contains("no sampler may use a judge", reward.Message);
            var features = Assert.Throws<ArgumentException>(() => new TtsSearch(2) { Features = judge }.Plan(model));
            Assert.Contains("no sampler may use a judge", features.Message);
        }
        // The shipped reward works, and budget 1 with it is plain sampling there too.
        var requests = Requests((4, 61), (7, 62));
        var plain = Generate(model, new VarDecoding(), requests);
        var one = Generate(model, new TtsSearch(1), requests);
        Assert.Equal(plain.Select(p => p.Rgb), one.Select(p => p.Rgb));
        var searched = Generate(model, new TtsSearch(2), requests);
        Assert.All(searched, s => Assert.Equal(model.ImageSize * model.ImageSize * 3, s.Rgb.Length));
    }
}
