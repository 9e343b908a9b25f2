using Var.Decoding.Sampling;

namespace Var.Decoding.Core;

/// <summary>
/// One row of a decoding session: the request it answers (<see cref="Origin"/> is the request's position), its seeded
/// generator and the tokens drawn so far per scale. Owned by the session.
/// </summary>
public sealed class SessionRow : IDisposable
{
    internal SessionRow(int origin, SampleRequest request, RowRandom random, int[][] tokens)
    {
        Origin = origin;
        Request = request;
        Random = random;
        Tokens = tokens;
    }

    /// <summary>Position of the request this row answers in the session's request list.</summary>
    public int Origin { get; }

    /// <summary>The request (class, seed, settings, its own cancellation).</summary>
    public SampleRequest Request { get; }

    /// <summary>The row's generator, seeded by the request's seed.</summary>
    public RowRandom Random { get; }

    /// <summary>Token ids per scale (null for scales not drawn yet).</summary>
    public int[][] Tokens { get; }

    /// <summary>An independent copy: same request, a generator in the same state, the same tokens.</summary>
    internal SessionRow Copy() => new(Origin, Request, Random.Clone(), Tokens.Select(t => t?.ToArray()!).ToArray());

    /// <inheritdoc />
    public void Dispose() => Random.Dispose();
}
