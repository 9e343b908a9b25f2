namespace Var.Decoding.Search;

/// <summary>
/// Clustering-based diversity search (tts-var.md §2): k-means with k-means++ seeding and Lloyd iterations on one
/// request's candidate features; the survivor of each cluster is the member closest to its centroid (ties: the lower
/// index), in cluster order. No reward is used.
/// </summary>
public static class DiversitySelection
{
    private const int LloydIterations = 30;

    /// <summary>
    /// Picks <paramref name="k"/> of the rows of <paramref name="features"/> (n × d); returns their indices (distinct).
    /// </summary>
    internal static int[] Select(double[][] features, int k, SearchRandom random)
    {
        int n = features.Length;
        if (k >= n) return Enumerable.Range(0, n).ToArray();
        var centroids = SeedPlusPlus(features, k, random);
        var assign = new int[n];
        for (int it = 0; it < LloydIterations; it++)
        {
            bool changed = false;
            for (int i = 0; i < n; i++)
            {
                int c = Nearest(features[i], centroids);
                changed |= c != assign[i];
                assign[i] = c;
            }
            // An empty cluster takes the point farthest from its own centroid, so k survivors always exist.
            for (int c = 0; c < k; c++)
            {
                if (assign.Contains(c)) continue;
                int far = Enumerable.Range(0, n).Where(i => assign.Count(a => a == assign[i]) > 1)
                    .OrderByDescending(i => Distance2(features[i], centroids[assign[i]])).ThenBy(i => i).First();
                assign[far] = c;
                changed = true;
            }
            for (int c = 0; c < k; c++) centroids[c] = Mean(features, assign, c);
            if (!changed && it > 0) break;
        }
        var picked = new int[k];
        for (int c = 0; c < k; c++)
        {
            int best = -1;
            double bestD = double.PositiveInfinity;
            for (int i = 0; i < n; i++)
            {
                if (assign[i] != c) continue;
                double d = Distance2(features[i], centroids[c]);
                if (d < bestD) (best, bestD) = (i, d);
            }
            picked[c] = best;
        }
        return picked;
    }

    private static double[][] SeedPlusPlus(double[][] x, int k, SearchRandom random)
    {
        int n = x.Length;
        var chosen = new List<int> { (int)(random.NextDouble() * n) };
        var d2 = x.Select(p => Distance2(p, x[chosen[0]])).ToArray();
        while (chosen.Count < k)
        {
            int next;
            if (d2.Sum() > 0) next = random.Categorical(d2);
            else next = Enumerable.Range(0, n).First(i => !chosen.Contains(i)); // all remaining points coincide
            chosen.Add(next);
            for (int i = 0; i < n; i++) d2[i] = Math.Min(d2[i], Distance2(x[i], x[next]));
            d2[next] = 0;
        }
        return chosen.Select(i => (double[])x[i].Clone()).ToArray();
    }

    private static int Nearest(double[] p, double[][] centroids)
    {
        int best = 0;
        double bestD = double.PositiveInfinity;
        for (int c = 0; c < centroids.Length; c++)
        {
            double d = Distance2(p, centroids[c]);
            if (d < bestD) (best, bestD) = (c, d);
        }
        return best;
    }

    private static double[] Mean(double[][] x, int[] assign, int c)
    {
        var m = new double[x[0].Length];
        int count = 0;
        for (int i = 0; i < x.Length; i++)
        {
            if (assign[i] != c) continue;
            count++;
            for (int j = 0; j < m.Length; j++) m[j] += x[i][j];
        }
        for (int j = 0; j < m.Length; j++) m[j] /= count;
        return m;
    }

    private static double Distance2(double[] a, double[] b)
    {
        double s = 0;
        for (int j = 0; j < a.Length; j++)
        {
            double d = a[j] - b[j];
            s += d * d;
        }
        return s;
    }
}
