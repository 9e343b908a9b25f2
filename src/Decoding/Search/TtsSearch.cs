using System.Globalization;
using Var.Decoding.Core;
using Var.Decoding.Decoders;
using Var.Model;
using Var.Model.Checkpoints;

namespace Var.Decoding.Search;

/// <summary>
/// TTS-VAR test-time search (tts-var.md) as a plan on the one loop: the base decoder's plan (plain VAR by default, or
/// CoDe) with a <see cref="SearchSelection"/> hook that widens each request to the schedule's candidates, clusters at
/// the coarse <see cref="ClusterScales"/>, resamples by reward at <see cref="ResampleScales"/> and keeps the best
/// survivor by reward at the end. <see cref="Budget"/> bounds the transformer work as a multiple of one plain sample.
/// </summary>
/// <param name="Budget">Transformer work allowed, in plain samples (1 = plain sampling); 1…<see cref="MaxBudget"/>.</param>
/// <param name="Reward">"implicit" (the transformer's own conditional-minus-unconditional likelihood) or a classifier of the bundle ("reward").</param>
public sealed record TtsSearch(double Budget, string Reward = TtsSearch.DefaultReward) : IDecoder
{
    /// <summary>The classifier role used as reward unless told.</summary>
    public const string DefaultReward = "reward";

    /// <summary>Largest budget accepted.</summary>
    public const double MaxBudget = 64;

    /// <summary>λ for the log-probability reward unless told (chosen by <c>var bench tts</c>, see the README).</summary>
    public const double DefaultLambda = 1.0;

    /// <summary>
    /// Feature extractor for clustering: "latent" (f̂ itself; the default: on Fashion-MNIST it gave a lower Fréchet
    /// distance than the reward classifier's spatial map at half the wall time, see the README) or a classifier role.
    /// </summary>
    public string? Features { get; init; }

    /// <summary>Scales after which candidates are clustered (null: the model's default).</summary>
    public IReadOnlyList<int>? ClusterScales { get; init; }

    /// <summary>Scales after which candidates are resampled by reward (null: the model's default).</summary>
    public IReadOnlyList<int>? ResampleScales { get; init; }

    /// <summary>λ of the resampling weights exp(λ·potential) (null: the model's default, else <see cref="DefaultLambda"/>).</summary>
    public double? Lambda { get; init; }

    /// <summary>Potential variant.</summary>
    public Potential Potential { get; init; } = Potential.Value;

    /// <summary>Relative candidates per scale, scaled to the budget (null: the model's, else <see cref="Shape(int, IReadOnlyList{int})"/>).</summary>
    public IReadOnlyList<double>? ScheduleShape { get; init; }

    /// <summary>Candidates at scale 0 instead of a budget: the shape is scaled so that its first entry is this many.</summary>
    public int? InitialCandidates { get; init; }

    /// <summary>Exact candidates per scale instead of scaling the shape to the budget (e.g. best-of-N, or the service's initial candidates).</summary>
    public IReadOnlyList<int>? Candidates { get; init; }

    /// <summary>
    /// Draws of the last scale per survivor from its one set of logits (<see cref="ExtraDrawsStep"/>: more candidates
    /// for the final best-of at no transformer work); null: the model's default (model.json <c>tts.final_draws</c>)
    /// where the schedule has more than one candidate, else 1. Best-of-N always draws once.
    /// </summary>
    public int? FinalDraws { get; init; }

    /// <summary>
    /// Draws per candidate at each resample scale from its one set of logits: the resampling then chooses among
    /// candidates × draws (no transformer work); null: the model's default (model.json <c>tts.resample_draws</c>) where
    /// the schedule has more than one candidate, else 1.
    /// </summary>
    public int? ResampleDraws { get; init; }

    /// <summary>Largest <see cref="FinalDraws"/> or <see cref="ResampleDraws"/> accepted.</summary>
    public const int MaxDraws = 64;

    /// <summary>The final draws per survivor used for <paramref name="model"/>.</summary>
    public int ResolveFinalDraws(ModelBundle model) => ResolveDraws(Resolve(model).Schedule, FinalDraws, model.SearchDefaults?.FinalDraws, nameof(FinalDraws));

    /// <summary>The draws per candidate at each resample scale used for <paramref name="model"/>.</summary>
    public int ResolveResampleDraws(ModelBundle model) => ResolveDraws(Resolve(model).Schedule, ResampleDraws, model.SearchDefaults?.ResampleDraws, nameof(ResampleDraws));

    private int ResolveDraws(SearchSchedule schedule, int? given, int? modelDefault, string name)
    {
        if (ExactWidth is not null) return 1;
        // The model's default applies to real searches only: a schedule of one candidate everywhere stays plain sampling.
        int draws = given ?? (schedule.Widest > 1 ? modelDefault : null) ?? 1;
        if (draws < 1 || draws > MaxDraws) throw new ArgumentOutOfRangeException(name, draws, $"draws must be in 1..{MaxDraws}");
        return draws;
    }

    /// <summary>Draws per candidate at each scale (1 where no extra draws are made), from one resolution of the settings.</summary>
    public int[] DrawsPerScale(ModelBundle model)
    {
        var (_, resample, _, schedule) = Resolve(model);
        return DrawsPerScale(model, resample, schedule);
    }

    private int[] DrawsPerScale(ModelBundle model, IReadOnlyCollection<int> resample, SearchSchedule schedule)
    {
        int k = schedule.Candidates.Count;
        int final = ResolveDraws(schedule, FinalDraws, model.SearchDefaults?.FinalDraws, nameof(FinalDraws));
        int atResample = ResolveDraws(schedule, ResampleDraws, model.SearchDefaults?.ResampleDraws, nameof(ResampleDraws));
        return Enumerable.Range(0, k).Select(si => si == k - 1 ? final : resample.Contains(si) ? atResample : 1).ToArray();
    }

    /// <summary>The decoder whose plan is searched (plain VAR on the default transformer unless given).</summary>
    public IDecoder Base { get; init; } = new VarDecoding();

    /// <summary>Best-of-N: N full candidates per request, no selection before the last scale, the best by reward kept.</summary>
    public static TtsSearch BestOfN(int n, string reward = DefaultReward) => new(n, reward)
    {
        ClusterScales = [],
        ResampleScales = [],
        ExactWidth = n,
    };

    /// <summary>For <see cref="BestOfN"/>: every scale has this many candidates.</summary>
    public int? ExactWidth { get; init; }

    /// <inheritdoc />
    public string Kind => "tts";

    /// <inheritdoc />
    public string BatchKey => string.Create(CultureInfo.InvariantCulture,
        $"tts:{Budget:R}:{Reward}:{Features ?? "auto"}:c={List(ClusterScales)}:r={List(ResampleScales)}:l={Lambda?.ToString("R", CultureInfo.InvariantCulture) ?? "auto"}:{Potential}:n={List(Candidates)}:s={(ScheduleShape is null ? "auto" : string.Join(",", ScheduleShape.Select(x => x.ToString("R", CultureInfo.InvariantCulture))))}:w={ExactWidth}:i={InitialCandidates}:d={FinalDraws}:rd={ResampleDraws}|{Base.BatchKey}");

    /// <summary>The settings resolved for <paramref name="model"/>: which scales cluster and resample, λ, the schedule.</summary>
    public (IReadOnlyList<int> Cluster, IReadOnlyList<int> Resample, double Lambda, SearchSchedule Schedule) Resolve(ModelBundle model)
    {
        var patchNums = model.Vqvae.Config.PatchNums;
        int k = patchNums.Length;
        if (!(Budget >= 1 && Budget <= MaxBudget)) throw new ArgumentOutOfRangeException(nameof(Budget), Budget, $"the budget must be in 1..{MaxBudget} (plain samples of transformer work)");
        var defaults = model.SearchDefaults;
        IReadOnlyList<int> cluster = ClusterScales ?? defaults?.ClusterScales ?? (IReadOnlyList<int>)DefaultScales(patchNums, [2.0 / 16, 3.0 / 16], []);
        IReadOnlyList<int> resample = ResampleScales ?? defaults?.ResampleScales ?? (IReadOnlyList<int>)DefaultScales(patchNums, [4.0 / 16, 8.0 / 16], cluster);
        foreach (var (name, list) in new[] { ("cluster", cluster), ("resample", resample) })
            foreach (var s in list)
                if (s < 0 || s >= k - 1) throw new ArgumentOutOfRangeException(name + "_scales", s, $"{name} scales must be in 0..{k - 2} (selection after the last scale is the final best-of)");
        if (cluster.Intersect(resample).FirstOrDefault(-1) is var both && both >= 0)
            throw new ArgumentException($"scale {both} is both a cluster and a resample scale", nameof(ClusterScales));
        double lambda = Lambda ?? defaults?.Lambda ?? DefaultLambda;
        if (!(lambda >= 0 && double.IsFinite(lambda))) throw new ArgumentOutOfRangeException(nameof(Lambda), lambda, "lambda must be a finite value ≥ 0");
        SearchSchedule schedule;
        if (ExactWidth is { } w) schedule = SearchSchedule.Exact(Enumerable.Repeat(w, k).ToArray(), patchNums);
        else if (Candidates is { } exact)
        {
            schedule = SearchSchedule.Exact(exact, patchNums);
            CheckDrops(schedule, cluster, resample);
        }
        else
        {
            var shape = ScheduleShape ?? defaults?.Shape ?? (IReadOnlyList<double>)Shape(k, cluster.Concat(resample).Order().ToArray());
            schedule = InitialCandidates is { } first
                ? SearchSchedule.Exact(shape.Select(x => Math.Max(1, (int)Math.Round(x * first / shape[0], MidpointRounding.AwayFromZero))).ToArray(), patchNums)
                : SearchSchedule.ForBudget(shape, patchNums, Budget);
            CheckDrops(schedule, cluster, resample);
        }
        return (cluster, resample, lambda, schedule);
    }

    /// <summary>
    /// The default shape: 8 candidates at the start, and after each selection scale in turn 6, 4, 2, 1 of them (the
    /// reference's VAR-256 schedule, tts-var.md §6; fewer selections use the tail of that list).
    /// </summary>
    public static double[] Shape(int numScales, IReadOnlyList<int> selectionScales)
    {
        double[] drops = [6, 4, 2, 1];
        var after = selectionScales.Count <= drops.Length
            ? drops.Skip(drops.Length - selectionScales.Count).ToArray()
            : drops.Concat(Enumerable.Repeat(1.0, selectionScales.Count - drops.Length)).ToArray();
        var shape = new double[numScales];
        double current = selectionScales.Count == 0 ? 1 : 8;
        int next = 0;
        for (int si = 0; si < numScales; si++)
        {
            shape[si] = current;
            if (next < selectionScales.Count && selectionScales[next] == si) current = after[next++];
        }
        return shape;
    }

    /// <inheritdoc />
    public int RowsPerImage(ModelBundle model)
    {
        var (_, resample, _, schedule) = Resolve(model);
        var draws = DrawsPerScale(model, resample, schedule);
        return schedule.Candidates.Select((c, si) => c * draws[si]).Max();
    }

    /// <inheritdoc />
    public DecodingPlan Plan(ModelBundle model)
    {
        var (cluster, resample, lambda, schedule) = Resolve(model);
        var basePlan = Base.Plan(model);
        var draws = DrawsPerScale(model, resample, schedule);
        if (draws.Any(d => d > 1)) basePlan = basePlan.WithSteps(step => new ExtraDrawsStep(step, si => draws[si]));
        var hooks = new List<IScaleHook>();
        ISearchReward reward;
        if (Reward == ImplicitReward.RoleName)
        {
            var recorder = new ImplicitLikelihoodRecorder();
            basePlan = basePlan.WithSteps(recorder.Wrap);
            hooks.Add(recorder);
            reward = new ImplicitReward();
        }
        else reward = new ClassifierReward(Reward, Classifier(model, Reward, "reward"));
        var featureRole = Features ?? "latent";
        ISearchFeatures features = featureRole == "latent"
            ? StructureFeatures.Latent()
            : StructureFeatures.FromClassifier(featureRole, Classifier(model, featureRole, "features"));
        hooks.Add(new SearchSelection(schedule, reward, features, cluster.ToHashSet(), resample.ToHashSet(), lambda, Potential)
        {
            OnSelection = OnSelection,
            OnRewards = OnRewards,
        });
        return basePlan with { Hooks = [.. basePlan.Hooks, .. hooks] };
    }

    /// <summary>Diagnostics: called with every selection (benchmarks).</summary>
    public Action<SelectionRecord>? OnSelection { get; init; }

    /// <summary>Diagnostics: called after every scale with every candidate's reward (the correlation study).</summary>
    public Action<int, DecodingSession, double[]>? OnRewards { get; init; }

    private static Model.Classifiers.ImageClassifier Classifier(ModelBundle model, string role, string what)
    {
        if (ModelLoader.IsJudge(role))
            throw new ArgumentException($"'{role}' is an evaluation judge; no sampler may use a judge as its {what} (use the model's 'reward' classifier or '{ImplicitReward.RoleName}')");
        return model.ClassifierFor(role);
    }

    // Every drop in an exact schedule must fall after a selection scale (tts-var.md §1).
    private static void CheckDrops(SearchSchedule schedule, IReadOnlyList<int> cluster, IReadOnlyList<int> resample)
    {
        for (int si = 0; si + 1 < schedule.Candidates.Count; si++)
            if (schedule.Candidates[si + 1] < schedule.Candidates[si] && !cluster.Contains(si) && !resample.Contains(si))
                throw new ArgumentException($"the candidates drop after scale {si}, which is neither a cluster nor a resample scale", nameof(Candidates));
    }

    // The scale whose side relative to the last is nearest each target (ties: the lower), distinct and not in 'taken'.
    private static int[] DefaultScales(IReadOnlyList<int> patchNums, double[] targets, IReadOnlyList<int> taken)
    {
        var used = new HashSet<int>(taken);
        var result = new List<int>();
        double last = patchNums[^1];
        foreach (var t in targets)
        {
            var pick = Enumerable.Range(0, patchNums.Count - 1).Where(s => !used.Contains(s) && (taken.Count == 0 || s > taken.Max()))
                .OrderBy(s => Math.Abs(patchNums[s] / last - t)).ThenBy(s => s).Cast<int?>().FirstOrDefault();
            if (pick is { } p)
            {
                used.Add(p);
                result.Add(p);
            }
        }
        return [.. result.Order()];
    }

    private static string List(IReadOnlyList<int>? l) => l is null ? "auto" : string.Join(",", l);
}
