using Var.Decoding.Imaging;
using Var.Decoding.Sampling;
using Var.Model;
using Var.Model.Transformer;

namespace Var.Decoding.Core;

/// <summary>
/// What the decoding loop carries from scale to scale for a batch of B rows: per-row state (request, seeded
/// generator, tokens so far), the per-row settings as tensors, f̂, the token-map inputs of the scales drawn so far, and
/// the open transformer's conditioning and KV cache (<see cref="TransformerContext"/>). Rows can be gathered with
/// repeats (search), subset (cancellation), and the cache can be closed and another transformer of the same bundle
/// opened and prefilled (collaborative decoding). Every tensor it holds is detached from dispose scopes and owned by
/// the session; use it on one thread.
/// </summary>
public sealed class DecodingSession : IDisposable
{
    private readonly List<SessionRow> rows;
    private readonly List<Tensor> scaleInputs = [];
    private Tensor labelsB;
    private Tensor cfgB11;
    private Tensor topKB;
    private Tensor topPB;
    private Tensor fHatBChw;
    private IDisposable? stepState;

    private DecodingSession(ModelBundle model, IReadOnlyList<SampleRequest> requests)
    {
        Model = model;
        RequestCount = requests.Count;
        PatchNums = model.Vqvae.Config.PatchNums;
        var device = model.Device;
        rows = requests.Select((r, i) => new SessionRow(i, r, new RowRandom(r.Seed), new int[PatchNums.Count][])).ToList();
        using var scope = NewDisposeScope();
        labelsB = tensor(requests.Select(r => (long)r.ClassId).ToArray(), dtype: ScalarType.Int64, device: device).DetachFromDisposeScope();
        cfgB11 = tensor(requests.Select(r => (float)r.Settings.Cfg).ToArray(), device: device).view(-1, 1, 1).DetachFromDisposeScope();
        topKB = tensor(requests.Select(r => (long)r.Settings.TopK).ToArray(), dtype: ScalarType.Int64, device: device).DetachFromDisposeScope();
        topPB = tensor(requests.Select(r => (float)r.Settings.TopP).ToArray(), device: device).DetachFromDisposeScope();
        var codebook = model.Vqvae.Quantizer.Codebook;
        int side = PatchNums[^1];
        fHatBChw = zeros(new long[] { requests.Count, model.Vqvae.Config.ZChannels, side, side }, dtype: codebook.dtype, device: device).DetachFromDisposeScope();
    }

    /// <summary>
    /// Starts a session for <paramref name="requests"/> (one row each, in order). Throws
    /// <see cref="ArgumentOutOfRangeException"/> for a class id outside the model or invalid settings. With
    /// <paramref name="allowUnconditional"/> the class id K (the number of classes: the unconditional class, whose
    /// conditional and unconditional rows are the same) is accepted too; it always is for rows with an edit
    /// (in-painting without a class, var.md §5).
    /// </summary>
    public static DecodingSession Start(ModelBundle model, IReadOnlyList<SampleRequest> requests, bool allowUnconditional = false)
    {
        if (requests.Count == 0) throw new ArgumentException("a session needs at least one request", nameof(requests));
        int classes = model.NumClasses;
        foreach (var r in requests)
        {
            int last = allowUnconditional || r.Edit is not null ? classes : classes - 1;
            if (r.ClassId < 0 || r.ClassId > last)
                throw new ArgumentOutOfRangeException(nameof(requests), r.ClassId, $"class id must be in 0..{last}");
            r.Settings.Validate();
        }
        return new DecodingSession(model, requests);
    }

    /// <summary>The model decoded with.</summary>
    public ModelBundle Model { get; }

    /// <summary>Number of requests the session was started with (results are indexed by request position).</summary>
    public int RequestCount { get; }

    /// <summary>Token-map sides, coarse to fine.</summary>
    public IReadOnlyList<int> PatchNums { get; }

    /// <summary>Number of scales.</summary>
    public int NumScales => PatchNums.Count;

    /// <summary>Rows in the batch, B.</summary>
    public int Count => rows.Count;

    /// <summary>The rows, in batch order.</summary>
    public IReadOnlyList<SessionRow> Rows => rows;

    /// <summary>Scales drawn so far.</summary>
    public int ScalesDone { get; private set; }

    /// <summary>Tokens drawn so far per row.</summary>
    public int TokensDone { get; private set; }

    /// <summary>
    /// Query tokens that went through a transformer so far, summed over rows and passes (both CFG halves counted once):
    /// the work measure of search budgets. Counted by the loop (rows entering each scale's step) and by steps that run
    /// extra passes (<see cref="CountPass"/>).
    /// </summary>
    public long QueryTokens { get; private set; }

    /// <summary>Adds one transformer pass of <paramref name="tokensPerRow"/> query tokens for every current row to <see cref="QueryTokens"/>.</summary>
    public void CountPass(int tokensPerRow) => QueryTokens += (long)Count * tokensPerRow;

    /// <summary>Tokens per row of the whole schedule.</summary>
    public int TokensTotal => PatchNums.Sum(p => p * p);

    /// <summary>Class ids (B,) int64.</summary>
    public Tensor Labels => labelsB;

    /// <summary>Per-row guidance at the last scale, (B, 1, 1) float32.</summary>
    public Tensor Cfg => cfgB11;

    /// <summary>Per-row top-k (B,) int64, 0 = off.</summary>
    public Tensor TopK => topKB;

    /// <summary>Per-row top-p (B,) float32, 0 = off.</summary>
    public Tensor TopP => topPB;

    /// <summary>The accumulated f̂ (B, Cvae, h, w) of the scales drawn so far (the tokenizer's dtype).</summary>
    public Tensor FHat => fHatBChw;

    /// <summary>The open transformer's conditioning and cache, or null.</summary>
    public TransformerContext? Context { get; private set; }

    /// <summary>
    /// What a step without a <see cref="TransformerContext"/> keeps for the current rows (HMAR's class conditioning),
    /// or null: freed and reset when the rows change (<see cref="Gather"/>, <see cref="Subset"/>, dropped rows) and when
    /// the session ends.
    /// </summary>
    public IDisposable? StepState
    {
        get => stepState;
        set
        {
            if (!ReferenceEquals(stepState, value)) stepState?.Dispose();
            stepState = value;
        }
    }

    /// <summary>The token-map input (B, pn², Cvae) of scale <see cref="ScalesDone"/> (after at least one scale).</summary>
    public Tensor NextInput => ScalesDone > 0 && scaleInputs.Count == ScalesDone
        ? scaleInputs[^1]
        : throw new InvalidOperationException($"no token-map input for scale {ScalesDone}");

    /// <summary>
    /// The token-map inputs of scales 1…<paramref name="lastScale"/> concatenated, (B, P − pn₀², Cvae) with P the end of
    /// that scale: the teacher-forcing input a transformer needs to prefill its cache up to that scale.
    /// </summary>
    public Tensor InputsUpTo(int lastScale)
    {
        if (lastScale > scaleInputs.Count) throw new InvalidOperationException($"inputs up to scale {lastScale} are not drawn yet ({ScalesDone} scales done)");
        if (lastScale == 0) return zeros(new long[] { Count, 0, Model.Vqvae.Config.ZChannels }, dtype: fHatBChw.dtype, device: fHatBChw.device);
        return cat(scaleInputs.Take(lastScale).ToArray(), 1);
    }

    /// <summary>
    /// Opens <paramref name="transformer"/> for this batch with an empty cache for up to <paramref name="cacheTokens"/>
    /// tokens (default: the whole sequence), closing (and freeing) whatever was open: class conditioning for the rows
    /// and for the unconditional class, and its modulations.
    /// </summary>
    public TransformerContext Open(VarTransformer transformer, int? cacheTokens = null)
    {
        CloseContext();
        using var scope = NewDisposeScope();
        var labels2B = cat(new[] { labelsB, full(Count, transformer.Config.NullClass, dtype: ScalarType.Int64, device: labelsB.device) }, 0);
        var cond = transformer.ClassEmbedding(labels2B);
        var mods = transformer.BlockModulations(cond);
        Context = new TransformerContext(transformer, cond.DetachFromDisposeScope(), mods.Select(m => m.DetachFromDisposeScope()).ToArray(), transformer.NewCache(cacheTokens));
        return Context;
    }

    /// <summary>Frees the open transformer's conditioning and cache (e.g. the drafter's at a hand-over).</summary>
    public void CloseContext()
    {
        Context?.Dispose();
        Context = null;
    }

    /// <summary>
    /// Replaces the batch by the rows <paramref name="positions"/> (batch positions, repeats allowed, order kept): row
    /// state, settings, f̂, inputs and the open cache move together, conditional and unconditional halves paired. A
    /// repeated row continues with a copy of its generator, so every copy makes the draws the row would have made; with
    /// <paramref name="fork"/> the first occurrence keeps the generator and the k-th repeat continues on
    /// <see cref="RowRandom.Fork"/>(salt) with salt = scales done · 2²⁰ + k, so copies diverge (search: tts-var.md §8.3)
    /// reproducibly from the row's seed and where the fork happened, whatever else shares the batch.
    /// <paramref name="forkSalt"/> replaces scales done · 2²⁰ as the base of the salt (a second fork at the same point,
    /// e.g. the final draws of a search, must not repeat the salts of the first).
    /// </summary>
    public void Gather(IReadOnlyList<int> positions, bool fork = false, long? forkSalt = null)
    {
        long saltBase = forkSalt ?? (long)ScalesDone << 20;
        if (positions.Count == 0) throw new ArgumentException("a gather must keep at least one row", nameof(positions));
        foreach (var p in positions)
            if (p < 0 || p >= Count) throw new ArgumentOutOfRangeException(nameof(positions), p, $"row must be in 0..{Count - 1}");
        var repeats = new int[Count];
        var next = new List<SessionRow>(positions.Count);
        foreach (var p in positions)
        {
            int k = repeats[p]++;
            next.Add(k == 0 ? rows[p] : fork ? rows[p].Fork(saltBase + k) : rows[p].Copy());
        }
        for (int i = 0; i < Count; i++)
            if (repeats[i] == 0) rows[i].Dispose();
        StepState = null;
        using (var scope = NewDisposeScope())
        {
            var index = tensor(positions.Select(p => (long)p).ToArray(), dtype: ScalarType.Int64, device: labelsB.device);
            labelsB = Swap(labelsB, labelsB.index_select(0, index));
            cfgB11 = Swap(cfgB11, cfgB11.index_select(0, index));
            topKB = Swap(topKB, topKB.index_select(0, index));
            topPB = Swap(topPB, topPB.index_select(0, index));
            fHatBChw = Swap(fHatBChw, fHatBChw.index_select(0, index));
            for (int i = 0; i < scaleInputs.Count; i++) scaleInputs[i] = Swap(scaleInputs[i], scaleInputs[i].index_select(0, index));
            Context?.Gather(cat(new[] { index, index + Count }, 0));
        }
        rows.Clear();
        rows.AddRange(next);
    }

    /// <summary>Keeps only the rows at <paramref name="positions"/> (distinct batch positions, in order).</summary>
    public void Subset(IReadOnlyList<int> positions)
    {
        if (positions.Distinct().Count() != positions.Count) throw new ArgumentException("a subset cannot repeat rows; use Gather", nameof(positions));
        Gather(positions);
    }

    /// <summary>
    /// Drops the rows whose request was cancelled. Returns false when no row is left (the session then has no rows and
    /// <see cref="Finish"/> returns only nulls).
    /// </summary>
    public bool DropCancelled()
    {
        var keep = Enumerable.Range(0, Count).Where(i => !rows[i].Request.Cancellation.IsCancellationRequested).ToList();
        if (keep.Count == Count) return Count > 0;
        if (keep.Count > 0)
        {
            Subset(keep);
            return true;
        }
        foreach (var r in rows) r.Dispose();
        rows.Clear();
        CloseContext();
        StepState = null;
        return false;
    }

    /// <summary>
    /// Records scale <paramref name="si"/>: tokens idxBl (B, pn²) int64 and their embeddings hBChw (B, Cvae, pn, pn);
    /// f̂ is updated (var.md §3: f̂ += φ(up(h))) and the next scale's token-map input is built from it.
    /// </summary>
    public void Commit(int si, Tensor idxBl, Tensor hBChw)
    {
        if (si != ScalesDone) throw new InvalidOperationException($"scale {si} committed after {ScalesDone} scales");
        using var scope = NewDisposeScope();
        var quantizer = Model.Vqvae.Quantizer;
        var newFHat = quantizer.AddScale(si, fHatBChw, hBChw);
        int l = PatchNums[si] * PatchNums[si];
        var idxCpu = idxBl.to(ScalarType.Int32).cpu().data<int>().ToArray();
        for (int i = 0; i < Count; i++) rows[i].Tokens[si] = idxCpu[(i * l)..((i + 1) * l)];
        if (si < NumScales - 1) scaleInputs.Add(quantizer.DownToScale(newFHat, si + 1).DetachFromDisposeScope());
        fHatBChw = Swap(fHatBChw, newFHat);
        ScalesDone = si + 1;
        TokensDone += l;
    }

    /// <summary>Where <see cref="ReportPass"/> goes: set by the decoding loop to its plan's hooks for the scale being drawn.</summary>
    internal Action<int, int, int>? PassObserver { get; set; }

    /// <summary>
    /// Called by a step that draws the current scale in several passes (HMAR), after each pass but the last:
    /// <paramref name="passesDone"/> of <paramref name="passes"/> done, <paramref name="tokensFixed"/> tokens fixed.
    /// </summary>
    public void ReportPass(int passesDone, int passes, int tokensFixed) => PassObserver?.Invoke(passesDone, passes, tokensFixed);

    /// <summary>RGB previews (H·W·3 bytes each) of f̂ so far for the rows at <paramref name="positions"/>.</summary>
    public byte[][] PreviewImages(IReadOnlyList<int> positions)
    {
        if (positions.Count == 0) return [];
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        var index = tensor(positions.Select(p => (long)p).ToArray(), dtype: ScalarType.Int64, device: fHatBChw.device);
        return ImageCodec.FromTensor(Model.Vqvae.FHatToImage(fHatBChw.index_select(0, index)));
    }

    /// <summary>
    /// Decodes f̂ of every row to an image. Returns, by request position, the image, or null where no row is left
    /// (cancelled). Where search left several rows of one request, the first wins.
    /// </summary>
    public IReadOnlyList<GeneratedImage?> Finish()
    {
        var results = new GeneratedImage?[RequestCount];
        if (Count == 0) return results;
        using var scope = NewDisposeScope();
        var img = Model.Vqvae.FHatToImage(fHatBChw).add(1).mul(127.5).round().clamp(0, 255).to(ScalarType.Byte);
        var rgb = img.permute(0, 2, 3, 1).contiguous().cpu().data<byte>().ToArray();
        int size = (int)img.shape[2], per = size * size * 3;
        for (int i = 0; i < Count; i++)
        {
            var row = rows[i];
            results[row.Origin] ??= new GeneratedImage(row.Request, size, rgb[(i * per)..((i + 1) * per)], row.Tokens);
        }
        return results;
    }

    private static Tensor Swap(Tensor old, Tensor next)
    {
        var kept = next.DetachFromDisposeScope();
        old.Dispose();
        return kept;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        CloseContext();
        StepState = null;
        foreach (var r in rows) r.Dispose();
        rows.Clear();
        foreach (var t in scaleInputs) t.Dispose();
        scaleInputs.Clear();
        labelsB.Dispose();
        cfgB11.Dispose();
        topKB.Dispose();
        topPB.Dispose();
        fHatBChw.Dispose();
    }
}
