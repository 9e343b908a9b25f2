using Var.Model.Checkpoints;
using Var.Decoding.Search;
using Var.Decoding.Editing;
using Var.Decoding.Imaging;
using Var.Decoding.Decoders;
using Var.Model;
using Grpc.Core;
using Microsoft.Extensions.Options;
using Var.Decoding.Sampling;
using Var.Model.Classes;
using Var.Service.Models;
using Var.Service.Options;
using Var.Service.Scheduling;
using Var.Service.V1;

namespace Var.Service.Validation;

/// <summary>
/// Turns a <see cref="GenerateRequest"/> into a <see cref="GenerationPlan"/>, or throws: INVALID_ARGUMENT with a field
/// violation per problem, UNAVAILABLE while the models load.
/// </summary>
public sealed class RequestValidator(GenerationScheduler scheduler, IOptions<SchedulerOptions> options)
{
    /// <summary>Longest accepted class name or request id.</summary>
    public const int MaxTextLength = 128;

    /// <summary>Most images one request may ask for.</summary>
    public int MaxImagesPerRequest => options.Value.MaxImagesPerRequest;

    /// <summary>Most images in one batch.</summary>
    public int MaxBatchSize => options.Value.MaxBatchSize;

    /// <summary>Validates <paramref name="request"/>; <paramref name="prefix"/> is prepended to field paths (e.g. "generation.").</summary>
    public GenerationPlan Validate(GenerateRequest request, string prefix = "") => Validate(request, prefix, classOptional: false);

    /// <summary>
    /// Validates an edit: its generation part (prefix "generation."; the class may be left unset for in- and
    /// out-painting, meaning unconditional), the image, the region (mask PNG or box; none only for outpainting: the
    /// image shrunk into the canvas) and the mode. Field violations name the request's fields.
    /// </summary>
    public GenerationPlan ValidateEdit(EditRequest request)
    {
        var mode = request.Mode == EditMode.Unspecified ? EditMode.Inpaint : request.Mode;
        if (!Enum.IsDefined(mode)) throw ViolationList.Invalid("mode", $"unknown mode {(int)request.Mode} (INPAINT, OUTPAINT or CLASS_EDIT)");
        var generation = request.Generation ?? new GenerateRequest();
        if (mode == EditMode.ClassEdit && generation.ClassCase == GenerateRequest.ClassOneofCase.None)
            throw ViolationList.Invalid("generation.class_id", "a class edit needs a class: set class_id or class_name");
        var plan = Validate(generation, "generation.", classOptional: true);
        var violations = new ViolationList();
        int size = plan.Model.ImageSize, side = plan.Model.PatchNums[^1];
        byte[]? rgb = null;
        if (request.Image.IsEmpty) violations.Add("image", "the image to edit is required (PNG or JPEG bytes)");
        else
        {
            try
            {
                rgb = ImageCodec.LoadRgb(request.Image.ToByteArray(), size, "image");
            }
            catch (ArgumentException e)
            {
                violations.Add("image", e.Message);
            }
        }
        float[]? region = null;
        string regionField = request.RegionCase == EditRequest.RegionOneofCase.Box ? "box" : "mask_png";
        try
        {
            region = request.RegionCase switch
            {
                EditRequest.RegionOneofCase.MaskPng => ImageCodec.LoadMask(request.MaskPng.ToByteArray(), size, "mask_png"),
                EditRequest.RegionOneofCase.Box => EditRegion.Box(size, request.Box.X0, request.Box.Y0, request.Box.X1, request.Box.Y1),
                _ when mode == EditMode.Outpaint => null,
                _ => throw new ArgumentException("give mask_png or box: the region to regenerate"),
            };
            if (region is null && rgb is not null) (rgb, region) = EditRegion.Outpaint(rgb, size);
            if (region is not null) EditTarget.KeepMaskFor(region, size, side);
        }
        catch (ArgumentException e)
        {
            violations.Add(regionField, e.Message);
        }
        if (request.Feather < 0 || request.Feather > size) violations.Add("feather", $"feather {request.Feather} is out of range 0..{size} pixels");
        violations.ThrowIfAny();
        var source = new EditSource(rgb!, region!, mode switch { EditMode.Outpaint => "outpaint", EditMode.ClassEdit => "edit", _ => "inpaint" }, request.Feather);
        return plan with { Images = plan.Images.Select(i => i with { Edit = source }).ToArray() };
    }

    private GenerationPlan Validate(GenerateRequest request, string prefix, bool classOptional)
    {
        var violations = new ViolationList();
        var limits = options.Value;

        LoadedModel? model = null;
        if (request.Model.Length > MaxTextLength) violations.Add(prefix + "model", $"longer than {MaxTextLength} characters");
        else
        {
            model = scheduler.FindModel(request.Model);
            if (model is null)
            {
                if (scheduler.Models.Count == 0) throw new RpcException(new Status(StatusCode.Unavailable, "the model is still loading; retry shortly"));
                var names = scheduler.Models.Select(m => m.Name).ToArray();
                var close = new ClassCatalog(names).Suggest(request.Model, 3);
                violations.Add(prefix + "model", $"unknown model '{request.Model}'" +
                    (close.Count > 0 ? $"; did you mean {string.Join(", ", close.Select(c => $"'{c}'"))}?" : "") + $" (loaded: {string.Join(", ", names)})");
            }
        }

        int classId = -1;
        switch (request.ClassCase)
        {
            case GenerateRequest.ClassOneofCase.None when classOptional:
                // An edit without a class is unconditional (var.md §5: in/out-painting uses the null class).
                if (model is not null) classId = model.ClassNames.Count;
                break;
            case GenerateRequest.ClassOneofCase.None:
                violations.Add(prefix + "class_id", "a class is required: set class_id or class_name");
                break;
            case GenerateRequest.ClassOneofCase.ClassId when model is not null:
                if (request.ClassId < 0 || request.ClassId >= model.ClassNames.Count)
                    violations.Add(prefix + "class_id", $"class id {request.ClassId} is out of range 0..{model.ClassNames.Count - 1}");
                else classId = request.ClassId;
                break;
            case GenerateRequest.ClassOneofCase.ClassName when request.ClassName.Length > MaxTextLength:
                violations.Add(prefix + "class_name", $"longer than {MaxTextLength} characters");
                break;
            case GenerateRequest.ClassOneofCase.ClassName when model is not null:
                try
                {
                    classId = model.ResolveClass(request.ClassName);
                }
                catch (ArgumentException e)
                {
                    violations.Add(prefix + "class_name", e.Message);
                }
                break;
        }

        int count = request.Count;
        if (count < 0 || count > limits.MaxImagesPerRequest)
            violations.Add(prefix + "count", $"count {count} is out of range 1..{limits.MaxImagesPerRequest} (0 means 1)");
        if (request.Seeds.Count > limits.MaxImagesPerRequest)
            violations.Add(prefix + "seeds", $"{request.Seeds.Count} seeds exceed the limit of {limits.MaxImagesPerRequest} images per request");
        else if (request.Seeds.Count > 0 && count != 0 && count != request.Seeds.Count)
            violations.Add(prefix + "seeds", $"{request.Seeds.Count} seeds given for count {count}; give one per image or leave count 0");
        if (count == 0) count = Math.Max(1, request.Seeds.Count);

        var defaults = model?.Defaults ?? new SamplingSettings();
        var settings = new SamplingSettings
        {
            Cfg = request.HasCfg ? request.Cfg : defaults.Cfg,
            TopK = request.HasTopK ? request.TopK : defaults.TopK,
            TopP = request.HasTopP ? request.TopP : defaults.TopP,
            MoreSmooth = request.MoreSmooth,
        };
        if (double.IsNaN(settings.Cfg) || settings.Cfg < 0 || settings.Cfg > 50) violations.Add(prefix + "cfg", $"cfg {request.Cfg} is out of range [0, 50]");
        if (settings.TopK < 0) violations.Add(prefix + "top_k", $"top_k {request.TopK} must be ≥ 0 (0 = off)");
        if (double.IsNaN(settings.TopP) || settings.TopP < 0 || settings.TopP > 1) violations.Add(prefix + "top_p", $"top_p {request.TopP} is out of range [0, 1] (0 = off)");

        var output = OutputSpec.Png;
        if (request.Output is { } o)
        {
            var encoding = o.Encoding == ImageEncoding.Unspecified ? ImageEncoding.Png : o.Encoding;
            if (!Enum.IsDefined(encoding)) violations.Add(prefix + "output.encoding", $"unknown encoding {(int)o.Encoding} (use PNG, JPEG or TOKENS)");
            int quality = o.HasJpegQuality ? o.JpegQuality : OutputSpec.DefaultJpegQuality;
            if (quality is < 1 or > 100) violations.Add(prefix + "output.jpeg_quality", $"jpeg_quality {o.JpegQuality} is out of range 1..100");
            output = new OutputSpec(encoding, quality);
        }

        if (request.RequestId.Length > MaxTextLength || request.RequestId.Any(char.IsControl))
            violations.Add(prefix + "request_id", $"at most {MaxTextLength} printable characters");

        // No decoder named: the model's default (hmar for an HMAR-only model or a folder whose model.json says so).
        IDecoder decoder = request.DecoderCase == GenerateRequest.DecoderOneofCase.None && model is { DefaultDecoder: "hmar", HmarTransformer: { } hmarRole }
            ? new HmarDecoding(null, hmarRole)
            : new VarDecoding();
        if (model is not null && request.DecoderCase is GenerateRequest.DecoderOneofCase.Var or GenerateRequest.DecoderOneofCase.TtsVar or GenerateRequest.DecoderOneofCase.Hmar)
        {
            string kind = request.DecoderCase switch
            {
                GenerateRequest.DecoderOneofCase.Var => "var",
                GenerateRequest.DecoderOneofCase.TtsVar => "tts_var",
                _ => "hmar",
            };
            if (!model.Decoders.Contains(kind))
                violations.Add(prefix + kind, $"model '{model.Name}' does not decode with {kind} (its decoders: {string.Join(", ", model.Decoders)})");
        }
        if (request.DecoderCase == GenerateRequest.DecoderOneofCase.Hmar && model is { HmarTransformer: { } role })
        {
            try
            {
                var hmar = new HmarDecoding(request.Hmar.StepsPerScale.Count == 0 ? null : request.Hmar.StepsPerScale.ToArray(), role);
                hmar.Schedule(model.PatchNums);
                decoder = hmar;
            }
            catch (ArgumentException e)
            {
                violations.Add(prefix + "hmar.steps_per_scale", e.Message);
            }
        }
        if (request.DecoderCase == GenerateRequest.DecoderOneofCase.Code && model is not null)
            decoder = CodeDecoding(request.Code, model, prefix + "code.", violations) ?? decoder;
        int rowsPerImage = 1;
        if (request.DecoderCase == GenerateRequest.DecoderOneofCase.TtsVar && model is not null
            && SearchDecoding(request.TtsVar, model, prefix + "tts_var.", violations, limits, count) is { } search)
            (decoder, rowsPerImage) = search;

        violations.ThrowIfAny();

        long baseSeed = request.HasSeed ? request.Seed : Random.Shared.NextInt64(0, 1L << 53);
        var images = Enumerable.Range(0, count)
            .Select(i => new ImageSpec(i, classId, request.Seeds.Count > 0 ? request.Seeds[i] : unchecked(baseSeed + i), settings))
            .ToArray();
        var requestId = request.RequestId.Length > 0 ? request.RequestId : Guid.NewGuid().ToString("N")[..12];
        return new GenerationPlan(requestId, model!, decoder, images, output, request.Preview) { RowsPerImage = rowsPerImage };
    }

    /// <summary>The TTS-VAR decoder a request's <c>tts_var</c> field asks for and its rows per image, or null after adding its violations.</summary>
    private static (IDecoder, int)? SearchDecoding(TtsVarDecoder tts, LoadedModel model, string prefix, ViolationList violations, SchedulerOptions limits, int count)
    {
        int before = violations.Count;
        var bundle = model.Model;
        var reward = tts.Reward.Length > 0 ? tts.Reward
            : bundle.Classifiers.ContainsKey(TtsSearch.DefaultReward) ? TtsSearch.DefaultReward : ImplicitReward.RoleName;
        if (reward.Length > MaxTextLength) violations.Add(prefix + "reward", $"longer than {MaxTextLength} characters");
        else if (ModelLoader.IsJudge(reward))
            violations.Add(prefix + "reward", $"'{reward}' is an evaluation judge; no sampler may use a judge (use '{TtsSearch.DefaultReward}' or '{ImplicitReward.RoleName}')");
        else if (reward != ImplicitReward.RoleName && !bundle.Classifiers.ContainsKey(reward))
            violations.Add(prefix + "reward", $"model '{model.Name}' has no reward '{reward}' (has: {string.Join(", ", bundle.Classifiers.Keys.Append(ImplicitReward.RoleName))})");
        if (tts.Budget != 0 && tts.InitialCandidates != 0)
            violations.Add(prefix + "budget", "give budget or initial_candidates, not both");
        else if (double.IsNaN(tts.Budget) || tts.Budget < 0 || tts.Budget > TtsSearch.MaxBudget || (tts.Budget > 0 && tts.Budget < 1))
            violations.Add(prefix + "budget", $"budget {tts.Budget} is out of range 1..{TtsSearch.MaxBudget} (plain samples of work; 0 = the default, {DefaultSearchBudget})");
        if (tts.InitialCandidates < 0 || tts.InitialCandidates > limits.MaxBatchRows)
            violations.Add(prefix + "initial_candidates", $"initial_candidates {tts.InitialCandidates} is out of range 1..{limits.MaxBatchRows} (0 = set by budget)");
        if (tts.FinalDraws < 0 || tts.FinalDraws > TtsSearch.MaxDraws)
            violations.Add(prefix + "final_draws", $"final_draws {tts.FinalDraws} is out of range 1..{TtsSearch.MaxDraws} (0 = the model's default)");
        if (tts.ResampleDraws < 0 || tts.ResampleDraws > TtsSearch.MaxDraws)
            violations.Add(prefix + "resample_draws", $"resample_draws {tts.ResampleDraws} is out of range 1..{TtsSearch.MaxDraws} (0 = the model's default)");
        if (violations.Count > before) return null;
        var search = new TtsSearch(tts.Budget == 0 ? (tts.InitialCandidates == 0 ? DefaultSearchBudget : 1) : tts.Budget, reward)
        {
            InitialCandidates = tts.InitialCandidates == 0 ? null : tts.InitialCandidates,
            FinalDraws = tts.FinalDraws == 0 ? null : tts.FinalDraws,
            ResampleDraws = tts.ResampleDraws == 0 ? null : tts.ResampleDraws,
        };
        int rows;
        try
        {
            rows = search.RowsPerImage(bundle);
        }
        catch (ArgumentException e)
        {
            violations.Add(prefix.TrimEnd('.'), e.Message);
            return null;
        }
        string field = tts.InitialCandidates != 0 ? "initial_candidates" : "budget";
        if (rows > limits.MaxBatchRows)
            violations.Add(prefix + field, $"this search needs {rows} candidate rows per image, more than the server's batch limit of {limits.MaxBatchRows}; lower the {field}");
        else if ((long)rows * count > limits.MaxQueuedRows)
            violations.Add(prefix + field, $"{count} images of {rows} candidate rows each exceed the server's queue limit of {limits.MaxQueuedRows} rows; ask for fewer images or a lower {field}");
        return violations.Count > before ? null : (search, rows);
    }

    /// <summary>The budget used when a request's tts_var gives neither budget nor initial candidates.</summary>
    public const double DefaultSearchBudget = 4;

    /// <summary>The CoDe decoder a request's <c>code</c> field asks for, or null after adding its violations.</summary>
    private static CollaborativeDecoding? CodeDecoding(CodeDecoder code, LoadedModel model, string prefix, ViolationList violations)
    {
        int before = violations.Count;
        int k = model.PatchNums.Count;
        int n = code.DraftScales == 0 ? model.DefaultDraftScales : code.DraftScales;
        var refiner = code.RefinerModel.Length == 0 ? CollaborativeDecoding.DefaultRefiner : code.RefinerModel;
        if (!model.Decoders.Contains("code"))
            violations.Add(prefix.TrimEnd('.'), $"model '{model.Name}' has no refiner, so it cannot decode with CoDe (transformers: {string.Join(", ", model.Transformers)})");
        else if (!model.Transformers.Contains(refiner) || refiner == model.DefaultTransformer)
            violations.Add(prefix + "refiner_model", $"'{refiner}' is not a refiner of model '{model.Name}' (a transformer of the same model other than '{model.DefaultTransformer}': {string.Join(", ", model.Transformers.Where(t => t != model.DefaultTransformer))})");
        if (n < 1 || n > k) violations.Add(prefix + "draft_scales", $"draft_scales {code.DraftScales} is out of range 1..{k} (0 = the model's default, {model.DefaultDraftScales})");
        double? refinerCfg = code.HasRefinerCfg ? code.RefinerCfg : null;
        if (refinerCfg is { } c && (double.IsNaN(c) || c < 0 || c > 50)) violations.Add(prefix + "refiner_cfg", $"refiner_cfg {c} is out of range [0, 50]");
        return violations.Count > before ? null : new CollaborativeDecoding(n, model.DefaultTransformer, refiner, refinerCfg);
    }
}
