using Var.Decoding.Sampling;

namespace Var.Decoding.Core;

/// <summary>
/// One row of a decoding session: the request it answers (<see cref="Origin"/> is the request's position), its seeded
/// generator and the tokens drawn so far per scale. Owned by the session.
/// </summary>
public sealed class SessionRow : IDisposable
{
    internal SessionRow(int origin, SampleRequest request, RowRandom random, int[][] tokens, RowScores? scores = null)
    {
        Origin = origin;
        Request = request;
        Random = random;
        Tokens = tokens;
        Scores = scores ?? new RowScores(tokens.Length);
    }

    /// <summary>Position of the request this row answers in the session's request list.</summary>
    public int Origin { get; }

    /// <summary>The request (class, seed, settings, its own cancellation).</summary>
    public SampleRequest Request { get; }

    /// <summary>The row's generator, seeded by the request's seed.</summary>
    public RowRandom Random { get; }

    /// <summary>Token ids per scale (null for scales not drawn yet).</summary>
    public int[][] Tokens { get; }

    /// <summary>What search recorded for this row's path (rewards per scale, the implicit classifier's log-ratio).</summary>
    public RowScores Scores { get; }

    /// <summary>An independent copy: same request, a generator in the same state, the same tokens and scores.</summary>
    internal SessionRow Copy() => new(Origin, Request, Random.Clone(), CopyTokens(), Scores.Copy());

    /// <summary>A copy that shares the history but continues on a generator forked with <paramref name="salt"/>.</summary>
    internal SessionRow Fork(long salt) => new(Origin, Request, Random.Fork(salt), CopyTokens(), Scores.Copy());

    private int[][] CopyTokens() => Tokens.Select(t => t?.ToArray()!).ToArray();

    /// <inheritdoc />
    public void Dispose() => Random.Dispose();
}
