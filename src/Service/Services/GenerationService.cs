using System.Diagnostics;
using Grpc.Core;
using Var.Service.Scheduling;
using Var.Service.V1;
using Var.Service.Validation;

namespace Var.Service.Services;

/// <summary>The <c>var.v1.Generation</c> endpoints: validate, queue on the scheduler, relay its events.</summary>
public sealed class GenerationService(GenerationScheduler scheduler, RequestValidator validator, ILogger<GenerationService> logger) : Generation.GenerationBase
{
    /// <inheritdoc />
    public override async Task<GenerateResponse> Generate(GenerateRequest request, ServerCallContext context)
    {
        var plan = validator.Validate(request);
        using var scope = logger.BeginScope(new Dictionary<string, object> { ["VarRequest"] = plan.RequestId });
        var ticket = scheduler.Submit(plan, context.CancellationToken, context.Deadline);
        try
        {
            LogAccepted(plan, ticket);
            var images = new GeneratedImage[plan.Images.Count];
            await foreach (var e in ticket.Events.ReadAllAsync(CancellationToken.None))
                if (e is ImageCompleted done) images[done.Index] = ResultEncoder.ToMessage(plan, done);
            var response = new GenerateResponse { RequestId = plan.RequestId, Model = plan.Model.Name, Images = { images } };
            logger.LogInformation("Returned {Count} images in {Milliseconds:F0} ms", images.Length, Stopwatch.GetElapsedTime(ticket.AcceptedAt).TotalMilliseconds);
            return response;
        }
        finally
        {
            scheduler.Release(ticket);
        }
    }

    /// <inheritdoc />
    public override Task GenerateStream(GenerateRequest request, IServerStreamWriter<GenerateEvent> responseStream, ServerCallContext context) =>
        Stream(validator.Validate(request), responseStream, context);

    /// <inheritdoc />
    public override Task Edit(EditRequest request, IServerStreamWriter<GenerateEvent> responseStream, ServerCallContext context) =>
        Stream(validator.ValidateEdit(request), responseStream, context);

    /// <inheritdoc />
    public override Task<ListModelsResponse> ListModels(ListModelsRequest request, ServerCallContext context)
    {
        var response = new ListModelsResponse
        {
            DefaultModel = scheduler.DefaultModel,
            MaxImagesPerRequest = validator.MaxImagesPerRequest,
            MaxBatchSize = validator.MaxBatchSize,
        };
        foreach (var m in scheduler.Models)
        {
            var info = new ModelInfo
            {
                Name = m.Name,
                Description = m.Model.Name == m.Name ? "" : m.Model.Name,
                ImageSize = m.ImageSize,
                PatchNums = { m.PatchNums },
                Decoders = { m.Decoders },
                DefaultDecoder = m.DefaultDecoder,
                DefaultCfg = m.Defaults.Cfg,
                DefaultTopK = m.Defaults.TopK,
                DefaultTopP = m.Defaults.TopP,
                Ready = true,
                Device = m.Device,
                Dtype = m.DType,
            };
            for (int id = 0; id < m.ClassNames.Count; id++)
                info.Classes.Add(new ClassInfo { Id = id, Name = m.ClassNames[id], Synonyms = { m.ClassSynonyms[id] } });
            response.Models.Add(info);
        }
        return Task.FromResult(response);
    }

    // Queued, then progress and results as the scheduler makes them, then done: GenerateStream and Edit.
    private async Task Stream(GenerationPlan plan, IServerStreamWriter<GenerateEvent> responseStream, ServerCallContext context)
    {
        using var scope = logger.BeginScope(new Dictionary<string, object> { ["VarRequest"] = plan.RequestId });
        var ticket = scheduler.Submit(plan, context.CancellationToken, context.Deadline);
        try
        {
            LogAccepted(plan, ticket);
            await responseStream.WriteAsync(new GenerateEvent
            {
                Queued = new Queued { RequestId = plan.RequestId, Position = ticket.Position, QueueDepth = ticket.QueueDepth, Model = plan.Model.Name },
            });
            int sent = 0;
            await foreach (var e in ticket.Events.ReadAllAsync(CancellationToken.None))
            {
                var message = e switch
                {
                    ScaleCompleted s => new GenerateEvent { Progress = ResultEncoder.ToMessage(s) },
                    ImageCompleted done => new GenerateEvent { Result = ResultEncoder.ToMessage(plan, done) },
                    _ => null,
                };
                if (message is null) continue;
                if (message.EventCase == GenerateEvent.EventOneofCase.Result) sent++;
                await responseStream.WriteAsync(message, context.CancellationToken);
            }
            double totalMs = Stopwatch.GetElapsedTime(ticket.AcceptedAt).TotalMilliseconds;
            await responseStream.WriteAsync(new GenerateEvent { Done = new Done { Images = sent, TotalMs = totalMs } }, context.CancellationToken);
            logger.LogInformation("Streamed {Count} images in {Milliseconds:F0} ms", sent, totalMs);
        }
        finally
        {
            scheduler.Release(ticket);
        }
    }

    private void LogAccepted(GenerationPlan plan, GenerationTicket ticket) =>
        logger.LogInformation("Accepted {Count} images of class {ClassId} from {Model} ({Decoder}; cfg {Cfg}, top-k {TopK}, top-p {TopP}) at queue position {Position}",
            plan.Images.Count, plan.Images[0].ClassId, plan.Model.Name, plan.Decoder.BatchKey, plan.Images[0].Settings.Cfg, plan.Images[0].Settings.TopK, plan.Images[0].Settings.TopP, ticket.Position);
}
