using Var.Model.Transformer;

namespace Var.Training.Subject;

/// <summary>
/// Adds one class to a class-conditional VAR. The class table has NumClasses + 1 rows, the last the unconditional
/// (CFG) class (var.md §2.6: <c>class_emb</c> is (num_classes + 1, C), label num_classes = unconditional). The new class
/// takes id NumClasses and the unconditional row moves, copied, to the end, so every old class id and the meaning of
/// "unconditional" are unchanged; every other tensor is copied as is.
/// </summary>
public static class ClassInsertion
{
    /// <summary>Name of the class table in the state dict.</summary>
    public const string ClassTable = "class_emb.weight";

    /// <summary>
    /// A copy of <paramref name="source"/> with one more class. The new row starts as the unconditional embedding (the
    /// model's "any image"), from which fine-tuning pulls it towards the subject.
    /// </summary>
    public static VarTransformer AddClass(VarTransformer source)
    {
        var config = source.Config with { NumClasses = source.Config.NumClasses + 1 };
        var target = new VarTransformer(config);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var from = source.state_dict();
        foreach (var (name, t) in target.state_dict())
        {
            var s = from[name];
            if (name != ClassTable)
            {
                t.copy_(s);
                continue;
            }
            int oldNull = source.Config.NullClass;
            t.narrow(0, 0, oldNull).copy_(s.narrow(0, 0, oldNull));
            t[config.NumClasses - 1].copy_(s[oldNull]);
            t[config.NullClass].copy_(s[oldNull]);
        }
        return target;
    }
}
