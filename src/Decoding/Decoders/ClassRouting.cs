using Var.Decoding.Search;
using Var.Model;

namespace Var.Decoding.Decoders;

/// <summary>
/// Classes drawn by a transformer of their own (<see cref="ModelBundle.ClassTransformers"/>, e.g. a class taught with
/// <c>var train subject</c>): a decoder that runs the model's default transformer is turned into the same decoder on the
/// class's transformer. Decoders that chose another transformer are left alone; CoDe and HMAR cannot draw such a class
/// (their second transformer never learnt it) and are refused with a message naming the class.
/// </summary>
public static class ClassRouting
{
    /// <summary>The transformer role that draws <paramref name="classId"/>, or null when it is the default one.</summary>
    public static string? RoleOf(ModelBundle model, int classId) =>
        model.ClassTransformers.TryGetValue(classId, out var role) && role != model.DefaultTransformer ? role : null;

    /// <summary>
    /// <paramref name="decoder"/> for rows of class <paramref name="classId"/>: itself when the class has no transformer
    /// of its own, otherwise the decoder on that transformer. Throws <see cref="ArgumentException"/> for a decoder
    /// that cannot be moved.
    /// </summary>
    public static IDecoder For(ModelBundle model, IDecoder decoder, int classId)
    {
        if (RoleOf(model, classId) is not { } role) return decoder;
        return decoder switch
        {
            VarDecoding v when v.Transformer == model.DefaultTransformer => new VarDecoding(role),
            VarDecoding => decoder,
            TtsSearch { Base: VarDecoding b } t when b.Transformer == model.DefaultTransformer => t with { Base = new VarDecoding(role) },
            TtsSearch { Base: VarDecoding } => decoder,
            _ => throw new ArgumentException(
                $"class '{model.Classes.NameOf(classId)}' is drawn by the transformer '{role}' of its own, which the {decoder.Kind} decoder cannot use (use the var or tts decoder)"),
        };
    }
}
