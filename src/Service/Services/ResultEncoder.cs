using Var.Decoding.Search;
using Var.Decoding.Decoders;
using System.Diagnostics;
using Google.Protobuf;
using Var.Decoding.Imaging;
using Var.Service.Scheduling;
using Var.Service.V1;
using Var.Service.Validation;

namespace Var.Service.Services;

/// <summary>Turns scheduler events into messages: encodes images (PNG/JPEG) or tokens, previews as PNG. Runs on the call's thread, not the torch thread.</summary>
public static class ResultEncoder
{
    /// <summary>The result message of one finished image.</summary>
    public static GeneratedImage ToMessage(GenerationPlan plan, ImageCompleted done)
    {
        var image = done.Image;
        var spec = plan.Images[done.Index];
        var clock = Stopwatch.StartNew();
        var message = new GeneratedImage
        {
            Index = done.Index,
            Seed = spec.Seed,
            ClassId = spec.ClassId,
            ClassName = spec.ClassId < plan.Model.ClassNames.Count ? plan.Model.ClassNames[spec.ClassId] : "unconditional",
            Encoding = plan.Output.Encoding,
            Width = image.Size,
            Height = image.Size,
            Settings = new AppliedSettings
            {
                Model = plan.Model.Name,
                Decoder = plan.Decoder.Kind,
                Cfg = spec.Settings.Cfg,
                TopK = spec.Settings.TopK,
                TopP = spec.Settings.TopP,
                MoreSmooth = spec.Settings.MoreSmooth,
                Dtype = plan.Model.DType,
            },
        };
        if (plan.Decoder is CollaborativeDecoding code)
        {
            message.Settings.DraftScales = code.DraftScales;
            message.Settings.Refiner = code.Refiner;
            if (code.RefinerCfg is { } refinerCfg) message.Settings.RefinerCfg = refinerCfg;
        }
        if (plan.Decoder is HmarDecoding hmar)
            message.Settings.StepsPerScale.AddRange(hmar.Schedule(plan.Model.Model).Passes);
        if (plan.Decoder is TtsSearch search)
        {
            var schedule = search.Resolve(plan.Model.Model).Schedule;
            message.Settings.Budget = search.InitialCandidates is null ? search.Budget : Math.Round(schedule.Work, 3);
            message.Settings.Reward = search.Reward;
            message.Settings.CandidatesPerScale.AddRange(schedule.Candidates);
            message.Settings.FinalDraws = search.ResolveFinalDraws(plan.Model.Model);
            message.Settings.ResampleDraws = search.ResolveResampleDraws(plan.Model.Model);
        }
        switch (plan.Output.Encoding)
        {
            case ImageEncoding.Tokens:
                var pyramid = new TokenPyramid();
                for (int s = 0; s < image.Tokens.Length; s++)
                    pyramid.Scales.Add(new TokenMap { Side = plan.Model.PatchNums[s], Ids = { image.Tokens[s] } });
                message.Tokens = pyramid;
                break;
            case ImageEncoding.Jpeg:
                message.MimeType = "image/jpeg";
                message.Data = UnsafeByteOperations.UnsafeWrap(ImageCodec.EncodeJpeg(image.Rgb, image.Size, image.Size, plan.Output.JpegQuality));
                break;
            default:
                message.MimeType = "image/png";
                message.Data = UnsafeByteOperations.UnsafeWrap(ImageCodec.EncodePng(image.Rgb, image.Size, image.Size));
                break;
        }
        message.Timings = new Timings
        {
            QueueMs = done.QueueMs,
            GenerationMs = done.GenerationMs,
            EncodeMs = clock.Elapsed.TotalMilliseconds,
            BatchSize = done.BatchSize,
        };
        return message;
    }

    /// <summary>The progress message of one scale or of a pass inside one, with PNG previews when they were computed.</summary>
    public static Progress ToMessage(ScaleCompleted scale)
    {
        var message = new Progress
        {
            Scale = scale.Scale,
            NumScales = scale.NumScales,
            TokensDone = scale.TokensDone,
            TokensTotal = scale.TokensTotal,
            ElapsedMs = scale.Elapsed.TotalMilliseconds,
            Indices = { scale.Indices },
            Candidates = { scale.Candidates ?? scale.Indices.Select(_ => 1).ToArray() },
            Step = scale.Step,
            NumSteps = scale.NumSteps,
        };
        if (scale.PreviewRgb is { } rgb)
        {
            for (int i = 0; i < rgb.Count; i++)
                message.Previews.Add(new Preview { Index = scale.Indices[i], Png = UnsafeByteOperations.UnsafeWrap(ImageCodec.EncodePng(rgb[i], scale.Size, scale.Size)) });
        }
        return message;
    }
}
