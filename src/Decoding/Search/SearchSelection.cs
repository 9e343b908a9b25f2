using Var.Decoding.Core;

namespace Var.Decoding.Search;

/// <summary>What one selection did for one request (for benchmarks and diagnostics).</summary>
/// <param name="Scale">Scale after which it ran.</param>
/// <param name="Request">Request position.</param>
/// <param name="Kind">"cluster", "resample" or "final".</param>
/// <param name="Before">Candidates before.</param>
/// <param name="After">Candidates after.</param>
/// <param name="Rewards">Rewards of the candidates before selection (empty for clustering).</param>
/// <param name="EffectiveSampleSize">Effective sample size of the resampling weights (0 otherwise).</param>
public sealed record SelectionRecord(int Scale, int Request, string Kind, int Before, int After, IReadOnlyList<double> Rewards, double EffectiveSampleSize);

/// <summary>
/// The search's hook on the decoding loop (tts-var.md §1): before scale 0 it widens every request to the schedule's
/// first candidate count (copies fork their generators; copy 0 keeps the request's own, so budget 1 is plain
/// sampling); after a clustering scale it keeps one candidate per k-means cluster; after a resampling scale it draws
/// the next candidates by exp(λ·potential) with replacement; after the last scale it keeps each request's best
/// candidate by reward. Every selection is one <see cref="DecodingSession.Gather"/> — f̂, inputs, the KV cache with its
/// conditional and unconditional halves, generators and scores move together — and runs per request, so a request's
/// result does not depend on the requests batched beside it.
/// </summary>
public sealed class SearchSelection(SearchSchedule schedule, ISearchReward reward, ISearchFeatures features,
    IReadOnlySet<int> clusterScales, IReadOnlySet<int> resampleScales, double lambda, Potential potential) : IScaleHook
{
    /// <summary>Called with every selection made (on the loop's thread).</summary>
    public Action<SelectionRecord>? OnSelection { get; init; }

    /// <summary>Called after every scale with every row's reward before selection (the reward correlation study).</summary>
    public Action<int, DecodingSession, double[]>? OnRewards { get; init; }

    /// <inheritdoc />
    public void BeforeFirstScale(DecodingSession session)
    {
        int c = schedule.Widest;
        if (c == 1) return;
        session.Gather(Enumerable.Range(0, session.Count).SelectMany(p => Enumerable.Repeat(p, c)).ToArray(), fork: true);
    }

    /// <inheritdoc />
    public void AfterScale(DecodingSession session, int si)
    {
        bool last = si == session.NumScales - 1;
        bool cluster = !last && clusterScales.Contains(si);
        bool resample = !last && resampleScales.Contains(si);
        if (!last && !cluster && !resample && OnRewards is null) return;
        // One candidate per request that stays one: nothing to choose (budget 1 does no extra work).
        if (OnRewards is null && schedule.SurvivorsAfter(si) == 1 && session.Rows.Select(r => r.Origin).Distinct().Count() == session.Count) return;
        using var images = new PartialImages(session);
        double[]? rewards = null;
        if (resample || last || OnRewards is not null)
        {
            rewards = reward.Score(session, si, images);
            OnRewards?.Invoke(si, session, rewards);
        }
        if (!last && !cluster && !resample) return;
        double[][]? feats = cluster ? features.Features(session, si, images) : null;
        int keep = schedule.SurvivorsAfter(si);
        var groups = Groups(session);
        var positions = new List<int>(groups.Count * keep);
        foreach (var (origin, rows) in groups)
        {
            var request = session.Rows[rows[0]].Request;
            var random = SearchRandom.For(request.Seed, si);
            int[] picked;
            double ess = 0;
            var groupRewards = rewards is null ? [] : rows.Select(r => rewards[r]).ToArray();
            string kind;
            if (last)
            {
                kind = "final";
                int best = 0;
                for (int i = 1; i < rows.Count; i++)
                    if (groupRewards[i] > groupRewards[best]) best = i;
                picked = [best];
            }
            else if (cluster)
            {
                kind = "cluster";
                picked = DiversitySelection.Select(rows.Select(r => feats![r]).ToArray(), keep, random);
            }
            else
            {
                kind = "resample";
                var pot = rows.Select((r, i) => PotentialSelection.Of(potential, groupRewards[i], History(session.Rows[r].Scores.Rewards, si))).ToArray();
                var w = PotentialSelection.Weights(pot, lambda);
                ess = PotentialSelection.EffectiveSampleSize(w);
                picked = PotentialSelection.Draw(w, keep, random);
            }
            if (resample || last)
                foreach (var (r, i) in rows.Select((r, i) => (r, i))) session.Rows[r].Scores.SetReward(si, groupRewards[i]);
            OnSelection?.Invoke(new SelectionRecord(si, origin, kind, rows.Count, picked.Length, groupRewards, ess));
            positions.AddRange(picked.Select(i => rows[i]));
        }
        session.Gather(positions, fork: true);
    }

    // Rewards recorded at earlier resampling scales, oldest first.
    private IReadOnlyList<double> History(IReadOnlyList<double> rewards, int si) =>
        Enumerable.Range(0, si).Where(resampleScales.Contains).Select(s => rewards[s]).Where(r => !double.IsNaN(r)).ToArray();

    // Batch positions of each request's rows, requests in order of first appearance.
    private static List<(int Origin, List<int> Rows)> Groups(DecodingSession session)
    {
        var groups = new List<(int, List<int>)>();
        var byOrigin = new Dictionary<int, List<int>>();
        for (int i = 0; i < session.Count; i++)
        {
            int origin = session.Rows[i].Origin;
            if (!byOrigin.TryGetValue(origin, out var list))
            {
                byOrigin[origin] = list = [];
                groups.Add((origin, list));
            }
            list.Add(i);
        }
        return groups;
    }
}
