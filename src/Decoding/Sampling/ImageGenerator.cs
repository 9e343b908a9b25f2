using Var.Decoding.Core;
using Var.Decoding.Decoders;
using Var.Decoding.Editing;
using Var.Model;

namespace Var.Decoding.Sampling;

/// <summary>
/// Generates images with a decoder on the one decoding loop: starts a session for the requests, runs the decoder's
/// plan (plus a progress hook), decodes the result. Each image has its own generator seeded by its seed, so an image
/// depends only on (model, decoder, class, seed, settings), never on the batch it shares.
/// </summary>
public sealed class ImageGenerator(ModelBundle model, IDecoder? decoder = null)
{
    /// <summary>The model sampled from.</summary>
    public ModelBundle Model => model;

    /// <summary>The decoder (plain VAR on the model's default transformer, or HMAR when that is an HMAR transformer, unless given).</summary>
    public IDecoder Decoder { get; } = decoder ?? (model.Hmar.ContainsKey(model.DefaultTransformer)
        ? new HmarDecoding(null, model.DefaultTransformer)
        : new VarDecoding(model.DefaultTransformer));

    /// <summary>
    /// Generates one image per request. Returns, by request position, the image or null when that request's own token
    /// was cancelled. <paramref name="cancellation"/> aborts the whole batch (OperationCanceledException) at the next
    /// scale. <paramref name="onScale"/> runs synchronously after every scale, on this thread.
    /// </summary>
    public IReadOnlyList<GeneratedImage?> Generate(IReadOnlyList<SampleRequest> requests, CancellationToken cancellation = default, Action<ScaleProgress>? onScale = null)
    {
        if (requests.Count == 0) return [];
        if (model.ClassTransformers.Count > 0 && requests.Any(r => ClassRouting.RoleOf(model, r.ClassId) is not null))
            return GenerateRouted(requests, cancellation, onScale);
        return GenerateWith(Decoder, requests, cancellation, onScale);
    }

    // Classes with a transformer of their own (ClassRouting) are drawn in a sub-batch per transformer, one after the
    // other; an image does not depend on its batch-mates, so splitting changes no image. Progress rows are mapped back.
    private GeneratedImage?[] GenerateRouted(IReadOnlyList<SampleRequest> requests, CancellationToken cancellation, Action<ScaleProgress>? onScale)
    {
        var groups = requests.Select((r, i) => (Request: r, Position: i))
            .GroupBy(x => ClassRouting.RoleOf(model, x.Request.ClassId) ?? "")
            .Select(g => (Decoder: ClassRouting.For(model, Decoder, g.First().Request.ClassId), Rows: g.ToArray()))
            .ToList(); // every decoder is checked before anything is drawn
        var results = new GeneratedImage?[requests.Count];
        var before = TimeSpan.Zero; // progress times run on across the sub-batches
        foreach (var (decoder, rows) in groups)
        {
            var positions = rows.Select(x => x.Position).ToArray();
            var offset = before;
            Action<ScaleProgress>? progress = onScale is null ? null : p =>
            {
                before = offset + p.Elapsed;
                onScale(p with { Rows = p.Rows.Select(r => positions[r]).ToArray(), Elapsed = offset + p.Elapsed });
            };
            var images = GenerateWith(decoder, rows.Select(x => x.Request).ToList(), cancellation, progress);
            for (int k = 0; k < rows.Length; k++) results[positions[k]] = images[k];
        }
        return results;
    }

    private IReadOnlyList<GeneratedImage?> GenerateWith(IDecoder decoder, IReadOnlyList<SampleRequest> requests, CancellationToken cancellation, Action<ScaleProgress>? onScale)
    {
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        var plan = decoder.Plan(model);
        if (requests.Any(r => r.Edit is not null))
        {
            // Editing is a constraint on any plan (var.md §5); rows without an edit are left as drawn.
            if (plan.Constraint is not null) throw new ArgumentException($"decoder '{decoder.Kind}' already constrains its tokens and cannot edit");
            plan = plan with { Constraint = new KnownTokensConstraint() };
        }
        // Progress first: it reports the rows drawn at the scale, before a search's selection narrows them.
        if (onScale is not null) plan = plan with { Hooks = [new ProgressHook(onScale), .. plan.Hooks] };
        using var session = DecodingSession.Start(model, requests);
        DecodingLoop.Run(plan, session, cancellation);
        var images = session.Finish();
        // Feathered edits blend the decoded image into the input's pixels outside the region.
        return images.Select(i => i?.Request.Edit is { Original: not null } edit ? i with { Rgb = edit.Composite(i.Rgb) } : i).ToArray();
    }
}
