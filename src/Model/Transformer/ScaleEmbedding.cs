namespace Var.Model.Transformer;

/// <summary>
/// The position parts of the input that VAR and HMAR share (var.md §2): lvl_embed(level) + pos_1LC for a token range,
/// and the start token cond + pos_start (+ its level and position). The modules keep their own parameters (their
/// names are checkpoint keys); these functions combine them.
/// </summary>
internal static class ScaleEmbedding
{
    /// <summary>lvl_embed(lvl_1L[begin, end)) + pos_1LC[begin, end): (1, end − begin, C).</summary>
    public static Tensor LevelPositions(Tensor lvl1L, Embedding lvlEmbed, Tensor pos1LC, int begin, int end)
    {
        using var scope = NewDisposeScope();
        var lvl = lvl1L.narrow(1, begin, end - begin);
        return (lvlEmbed.forward(lvl) + pos1LC.narrow(1, begin, end - begin)).MoveToOuterDisposeScope();
    }

    /// <summary>The first scale's input for conditions cond (B, C): cond + pos_start + the first tokens' level and position, (B, first, C).</summary>
    public static Tensor StartInput(Tensor cond, Tensor posStart, int first, Tensor levelPositions)
    {
        using var scope = NewDisposeScope();
        var sos = cond.unsqueeze(1).expand(cond.shape[0], first, -1) + posStart.expand(cond.shape[0], first, -1);
        return (sos + levelPositions).MoveToOuterDisposeScope();
    }
}
