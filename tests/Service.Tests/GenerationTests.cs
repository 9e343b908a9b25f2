using Google.Rpc;
using Var.Decoding.Imaging;

namespace Var.Service.Tests;

/// <summary>Generate, GenerateStream, ListModels and Edit through the in-process server.</summary>
public sealed class GenerationTests(ServiceFactory factory) : IClassFixture<ServiceFactory>
{
    private static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    [Fact]
    public async Task GenerateReturnsPngsWithSeedClassSettingsAndTimings()
    {
        await factory.WaitServingAsync();
        var response = await factory.Client().GenerateAsync(new GenerateRequest { ClassName = "Coat", Count = 2, Seed = 5, TopK = 10, RequestId = "unary-1" });

        Assert.Equal("unary-1", response.RequestId);
        Assert.Equal(TinyModelFolder.Name, response.Model);
        Assert.Equal(2, response.Images.Count);
        for (int i = 0; i < 2; i++)
        {
            var image = response.Images[i];
            Assert.Equal(i, image.Index);
            Assert.Equal(5 + i, image.Seed);
            Assert.Equal(4, image.ClassId);
            Assert.Equal("coat", image.ClassName);
            Assert.Equal("image/png", image.MimeType);
            Assert.Equal(PngSignature, image.Data.Span[..8].ToArray());
            Assert.Equal(8, image.Width);
            Assert.Equal(8 * 8 * 3, ImageCodec.LoadRgb(image.Data.ToByteArray(), 8).Length);
            // Unset fields take the model's defaults (model.json); set ones are kept.
            Assert.Equal(2.0, image.Settings.Cfg);
            Assert.Equal(10, image.Settings.TopK);
            Assert.Equal(0.9, image.Settings.TopP);
            Assert.Equal("var", image.Settings.Decoder);
            Assert.Equal("float32", image.Settings.Dtype);
            Assert.True(image.Timings.GenerationMs > 0);
            Assert.True(image.Timings.QueueMs >= 0);
            Assert.InRange(image.Timings.BatchSize, 1, 16);
        }
        Assert.NotEqual(response.Images[0].Data, response.Images[1].Data);
    }

    [Fact]
    public async Task SameSeedAndSettingsGiveTheSameBytesAndSeedsDefaultToARandomBase()
    {
        await factory.WaitServingAsync();
        var client = factory.Client();
        var a = await client.GenerateAsync(new GenerateRequest { ClassId = 1, Seeds = { 11, 12, 13 }, Cfg = 3 });
        var b = await client.GenerateAsync(new GenerateRequest { ClassId = 1, Seeds = { 13 }, Cfg = 3 });
        Assert.Equal([11L, 12, 13], a.Images.Select(i => i.Seed));
        Assert.Equal(a.Images[2].Data, b.Images[0].Data);

        var random = await client.GenerateAsync(new GenerateRequest { ClassId = 1, Count = 2 });
        Assert.Equal(random.Images[0].Seed + 1, random.Images[1].Seed);
        var replay = await client.GenerateAsync(new GenerateRequest { ClassId = 1, Seed = random.Images[1].Seed });
        Assert.Equal(random.Images[1].Data, replay.Images[0].Data);
    }

    [Fact]
    public async Task JpegAndTokenOutputsAreEncodedAsAsked()
    {
        await factory.WaitServingAsync();
        var client = factory.Client();
        var jpeg = await client.GenerateAsync(new GenerateRequest { ClassId = 2, Seed = 1, Output = new OutputFormat { Encoding = ImageEncoding.Jpeg, JpegQuality = 80 } });
        Assert.Equal("image/jpeg", jpeg.Images[0].MimeType);
        Assert.Equal([0xFF, 0xD8], jpeg.Images[0].Data.Span[..2].ToArray());

        var tokens = await client.GenerateAsync(new GenerateRequest { ClassId = 2, Seed = 1, Output = new OutputFormat { Encoding = ImageEncoding.Tokens } });
        var pyramid = tokens.Images[0].Tokens;
        Assert.True(tokens.Images[0].Data.IsEmpty);
        Assert.Equal([1, 2, 3, 4], pyramid.Scales.Select(s => s.Side));
        Assert.All(pyramid.Scales, s => Assert.Equal(s.Side * s.Side, s.Ids.Count));
        Assert.All(pyramid.Scales.SelectMany(s => s.Ids), id => Assert.InRange(id, 0, 63));
    }

    [Fact]
    public async Task GenerateStreamSendsQueuedThenProgressWithPreviewsThenResultsThenDone()
    {
        await factory.WaitServingAsync();
        using var call = factory.Client().GenerateStream(new GenerateRequest { ClassName = "sneaker", Count = 2, Seed = 3, Preview = true });
        var events = new List<GenerateEvent>();
        await foreach (var e in call.ResponseStream.ReadAllAsync()) events.Add(e);

        Assert.Equal(GenerateEvent.EventOneofCase.Queued, events[0].EventCase);
        Assert.False(string.IsNullOrEmpty(events[0].Queued.RequestId));
        Assert.Equal(GenerateEvent.EventOneofCase.Done, events[^1].EventCase);
        Assert.Equal(2, events[^1].Done.Images);
        var progress = events.Where(e => e.EventCase == GenerateEvent.EventOneofCase.Progress).Select(e => e.Progress).ToList();
        Assert.Equal([0, 1, 2, 3], progress.Select(p => p.Scale));
        Assert.All(progress, p =>
        {
            Assert.Equal(4, p.NumScales);
            Assert.Equal([0, 1], p.Indices.Order());
            Assert.Equal(2, p.Previews.Count);
            Assert.All(p.Previews, v => Assert.Equal(PngSignature, v.Png.Span[..8].ToArray()));
        });
        Assert.Equal(30, progress[^1].TokensTotal);
        var results = events.Where(e => e.EventCase == GenerateEvent.EventOneofCase.Result).Select(e => e.Result).OrderBy(r => r.Index).ToList();
        Assert.Equal([3L, 4], results.Select(r => r.Seed));
        Assert.All(results, r => Assert.Equal(7, r.ClassId));
        // The last preview is the finished image.
        var last = progress[^1].Previews.Single(v => v.Index == 0).Png.ToByteArray();
        Assert.Equal(ImageCodec.LoadRgb(results[0].Data.ToByteArray(), 8), ImageCodec.LoadRgb(last, 8));
    }

    [Fact]
    public async Task ListModelsDescribesTheLoadedModel()
    {
        await factory.WaitServingAsync();
        var response = await factory.Client().ListModelsAsync(new ListModelsRequest());
        Assert.Equal(TinyModelFolder.Name, response.DefaultModel);
        Assert.Equal(64, response.MaxImagesPerRequest);
        var model = Assert.Single(response.Models);
        Assert.Equal(TinyModelFolder.Name, model.Name);
        Assert.Equal(8, model.ImageSize);
        Assert.Equal([1, 2, 3, 4], model.PatchNums);
        Assert.Equal(["var", "code", "tts_var", "hmar"], model.Decoders);
        Assert.Equal(10, model.Classes.Count);
        Assert.Equal("ankle boot", model.Classes[9].Name);
        Assert.Contains("boot", model.Classes[9].Synonyms);
        Assert.Equal(20, model.DefaultTopK);
        Assert.True(model.Ready);
    }

    [Fact]
    public async Task HmarRequestsUseTheHmarTransformerAndEchoTheirSchedule()
    {
        await factory.WaitServingAsync();
        var client = factory.Client();
        var hmar = new GenerateRequest { ClassId = 2, Seed = 5, Count = 2, Hmar = new HmarDecoder { StepsPerScale = { 1, 2, 3, 2 } } };
        var reply = await client.GenerateAsync(hmar);
        Assert.Equal(2, reply.Images.Count);
        Assert.All(reply.Images, i => Assert.Equal("hmar", i.Settings.Decoder));
        Assert.All(reply.Images, i => Assert.Equal([1, 2, 3, 2], i.Settings.StepsPerScale));
        var again = await client.GenerateAsync(hmar);
        Assert.Equal(reply.Images[0].Data, again.Images[0].Data);
        var byDefault = await client.GenerateAsync(new GenerateRequest { ClassId = 2, Seed = 5, Hmar = new HmarDecoder() });
        Assert.Equal([1, 2, 4, 1], byDefault.Images[0].Settings.StepsPerScale);
        var plain = await client.GenerateAsync(new GenerateRequest { ClassId = 2, Seed = 5, Var = new VarDecoder() });
        Assert.NotEqual(plain.Images[0].Data, reply.Images[0].Data);
    }

    [Fact]
    public async Task HmarStreamsAProgressEventForEveryPassInsideAScale()
    {
        await factory.WaitServingAsync();
        using var call = factory.Client().GenerateStream(new GenerateRequest
        {
            ClassId = 4,
            Seed = 2,
            Preview = true,
            Hmar = new HmarDecoder { StepsPerScale = { 1, 2, 3, 2 } },
        });
        var events = new List<GenerateEvent>();
        await foreach (var e in call.ResponseStream.ReadAllAsync()) events.Add(e);
        var progress = events.Where(e => e.EventCase == GenerateEvent.EventOneofCase.Progress).Select(e => e.Progress).ToList();
        // Scale by scale, every pass; the tokens each pass fixes are the schedule's: [1], [1, 3], [1, 3, 5], [5, 11].
        Assert.Equal([(0, 1, 1), (1, 1, 2), (1, 2, 2), (2, 1, 3), (2, 2, 3), (2, 3, 3), (3, 1, 2), (3, 2, 2)],
            progress.Select(p => (p.Scale, p.Step, p.NumSteps)));
        Assert.Equal([1, 2, 5, 6, 9, 14, 19, 30], progress.Select(p => p.TokensDone));
        // Previews only once a scale is finished (f̂ changes then).
        Assert.All(progress, p => Assert.Equal(p.Step == p.NumSteps ? 1 : 0, p.Previews.Count));

        using var remote = new Var.Client.VarClient(factory.Channel());
        var steps = new List<(int, int, int)>();
        var images = await remote.StreamAsync(new Var.Client.RemoteRequest { Class = "4", Seed = 2, Decoder = "hmar", StepsPerScale = [1, 2, 3, 2] },
            p =>
            {
                if (p.Stage == Var.Client.RemoteStage.Scale) steps.Add((p.Scale, p.Step, p.NumSteps));
            });
        Assert.Equal(progress.Select(p => (p.Scale, p.Step, p.NumSteps)), steps);
        var result = events.Single(e => e.EventCase == GenerateEvent.EventOneofCase.Result).Result;
        Assert.Equal(result.Data.ToByteArray(), images[0].Data);
        Assert.Equal([1, 2, 3, 2], result.Settings.StepsPerScale);
    }

    [Theory]
    [InlineData(new[] { 1, 2, 3 }, "steps_per_scale has 3 entries")]
    [InlineData(new[] { 1, 0, 1, 1 }, "steps_per_scale[1] is 0")]
    [InlineData(new[] { 1, 2, 10, 1 }, "steps_per_scale[2] is 10, more passes than scale 2")]
    public async Task BadHmarSchedulesAreInvalidNamingTheField(int[] steps, string message)
    {
        await factory.WaitServingAsync();
        var client = factory.Client();
        var request = new GenerateRequest { ClassId = 0, Hmar = new HmarDecoder { StepsPerScale = { steps } } };
        var error = await Assert.ThrowsAsync<RpcException>(() => client.GenerateAsync(request).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        var violation = Assert.Single(error.GetRpcStatus()!.GetDetail<BadRequest>().FieldViolations);
        Assert.Equal("hmar.steps_per_scale", violation.Field);
        Assert.Contains(message, violation.Description);
    }

    [Fact]
    public async Task CodeRequestsUseTheRefinerAndEchoTheirSettings()
    {
        await factory.WaitServingAsync();
        var client = factory.Client();
        var plain = await client.GenerateAsync(new GenerateRequest { ClassId = 3, Seed = 9, Count = 2 });
        var code = await client.GenerateAsync(new GenerateRequest { ClassId = 3, Seed = 9, Count = 2, Code = new CodeDecoder() });
        var again = await client.GenerateAsync(new GenerateRequest { ClassId = 3, Seed = 9, Count = 2, Code = new CodeDecoder { DraftScales = 2 } });
        var whole = await client.GenerateAsync(new GenerateRequest { ClassId = 3, Seed = 9, Count = 2, Code = new CodeDecoder { DraftScales = 4, RefinerCfg = 1 } });
        for (int i = 0; i < 2; i++)
        {
            Assert.Equal("code", code.Images[i].Settings.Decoder);
            Assert.Equal(2, code.Images[i].Settings.DraftScales);
            Assert.Equal("refiner", code.Images[i].Settings.Refiner);
            Assert.False(code.Images[i].Settings.HasRefinerCfg);
            Assert.Equal(0, plain.Images[i].Settings.DraftScales);
            // The model's default N (model.json) is what draft_scales 0 means; the refiner changes the image.
            Assert.Equal(again.Images[i].Data, code.Images[i].Data);
            Assert.NotEqual(plain.Images[i].Data, code.Images[i].Data);
            // Every scale drafted: the drafter alone.
            Assert.Equal(plain.Images[i].Data, whole.Images[i].Data);
            Assert.Equal(1, whole.Images[i].Settings.RefinerCfg);
        }
    }

    [Fact]
    public async Task SearchRequestsReportTheirCandidatesAndEchoTheirSettings()
    {
        await factory.WaitServingAsync();
        var client = factory.Client();
        var plain = await client.GenerateAsync(new GenerateRequest { ClassId = 5, Seed = 40, Count = 2 });
        // Budget 1 is plain sampling: the same images.
        var one = await client.GenerateAsync(new GenerateRequest { ClassId = 5, Seed = 40, Count = 2, TtsVar = new TtsVarDecoder { Budget = 1 } });
        Assert.Equal(plain.Images.Select(i => i.Data), one.Images.Select(i => i.Data));
        var events = new List<GenerateEvent>();
        using (var call = client.GenerateStream(new GenerateRequest { ClassId = 5, Seed = 40, Count = 2, TtsVar = new TtsVarDecoder { Budget = 4 }, Preview = true }))
            await foreach (var e in call.ResponseStream.ReadAllAsync()) events.Add(e);
        var progress = events.Where(e => e.EventCase == GenerateEvent.EventOneofCase.Progress).Select(e => e.Progress).ToList();
        var results = events.Where(e => e.EventCase == GenerateEvent.EventOneofCase.Result).Select(e => e.Result).OrderBy(r => r.Index).ToList();
        Assert.Equal(2, results.Count);
        var settings = results[0].Settings;
        Assert.Equal("tts", settings.Decoder);
        Assert.Equal(4, settings.Budget);
        Assert.Equal("implicit", settings.Reward);
        Assert.Equal(4, settings.CandidatesPerScale.Count);
        Assert.True(settings.CandidatesPerScale[0] > 1);
        // Progress names each image once, with the candidates drawn for it at that scale, and one preview per image.
        var first = progress.First(p => p.Scale == 0);
        Assert.Equal(first.Indices.Count, first.Indices.Distinct().Count());
        Assert.Equal(first.Indices.Count, first.Candidates.Count);
        Assert.All(first.Candidates, c => Assert.Equal(settings.CandidatesPerScale[0], c));
        Assert.Equal(first.Indices.Count, first.Previews.Count);
        Assert.All(progress.Where(p => p.Scale == 3), p => Assert.All(p.Candidates, c => Assert.Equal(settings.CandidatesPerScale[3], c)));
        // Reproducible from the seed.
        var again = await client.GenerateAsync(new GenerateRequest { ClassId = 5, Seed = 40, Count = 2, TtsVar = new TtsVarDecoder { Budget = 4 } });
        Assert.Equal(results.Select(r => r.Data), again.Images.Select(i => i.Data));
        // Extra final draws are echoed (the model's default, 1 on this model, otherwise).
        Assert.Equal(1, settings.FinalDraws);
        var drawn = await client.GenerateAsync(new GenerateRequest { ClassId = 5, Seed = 40, Count = 1, TtsVar = new TtsVarDecoder { Budget = 4, FinalDraws = 3 } });
        Assert.Equal(3, drawn.Images[0].Settings.FinalDraws);
        Assert.Equal(settings.CandidatesPerScale, drawn.Images[0].Settings.CandidatesPerScale);
    }

    [Fact]
    public async Task AnEditStreamsProgressAndKeepsTheImageOutsideTheBox()
    {
        await factory.WaitServingAsync();
        var client = factory.Client();
        var source = (await client.GenerateAsync(new GenerateRequest { ClassId = 2, Seed = 4 })).Images[0].Data;
        var request = new EditRequest
        {
            Generation = new GenerateRequest { Count = 2, Seed = 10, Output = new OutputFormat { Encoding = ImageEncoding.Tokens } },
            Image = source,
            Box = new Box { X0 = 0, Y0 = 0, X1 = 0.5, Y1 = 1 },
        };
        using var call = client.Edit(request);
        var results = new List<GeneratedImage>();
        int progress = 0;
        while (await call.ResponseStream.MoveNext(CancellationToken.None))
        {
            var e = call.ResponseStream.Current;
            if (e.EventCase == GenerateEvent.EventOneofCase.Progress) progress++;
            if (e.EventCase == GenerateEvent.EventOneofCase.Result) results.Add(e.Result);
        }
        Assert.Equal(2, results.Count);
        Assert.True(progress >= 4);
        Assert.All(results, r => Assert.Equal("unconditional", r.ClassName));
        // The right half of the last 4×4 token map is the source's own tokens (its tokens, re-encoded from the PNG).
        var plain = await client.GenerateAsync(new GenerateRequest { ClassId = 2, Seed = 4, Output = new OutputFormat { Encoding = ImageEncoding.Tokens } });
        var last = results.Select(r => r.Tokens.Scales[^1].Ids.ToArray()).ToArray();
        var kept = Enumerable.Range(0, 16).Where(j => j % 4 >= 2).ToArray();
        Assert.Equal(kept.Select(j => last[0][j]), kept.Select(j => last[1][j]));
        var redrawn = Enumerable.Range(0, 16).Where(j => j % 4 < 2).ToArray();
        Assert.NotEqual(redrawn.Select(j => last[0][j]), redrawn.Select(j => last[1][j]));
        Assert.Equal(4, plain.Images[0].Tokens.Scales.Count);
    }

    [Theory]
    [InlineData("not an image", "image", "not a PNG or JPEG")]
    [InlineData("no region", "mask_png", "mask_png or box")]
    [InlineData("bad box", "box", "0 ≤ x0 < x1 ≤ 1")]
    [InlineData("mask keeps everything", "mask_png", "regenerates no token")]
    [InlineData("class edit without class", "generation.class_id", "needs a class")]
    public async Task ABadEditIsRefusedWithAFieldViolation(string name, string field, string text)
    {
        await factory.WaitServingAsync();
        var client = factory.Client();
        var png = (await client.GenerateAsync(new GenerateRequest { ClassId = 1, Seed = 1 })).Images[0].Data;
        var black = Google.Protobuf.ByteString.CopyFrom(ImageCodec.EncodePng(new byte[8 * 8 * 3], 8, 8));
        var request = name switch
        {
            "not an image" => new EditRequest { Image = Google.Protobuf.ByteString.CopyFromUtf8("hello"), Box = new Box { X1 = 1, Y1 = 1 } },
            "no region" => new EditRequest { Image = png },
            "bad box" => new EditRequest { Image = png, Box = new Box { X0 = 0.6, X1 = 0.2, Y1 = 1 } },
            "mask keeps everything" => new EditRequest { Image = png, MaskPng = black },
            _ => new EditRequest { Image = png, Box = new Box { X1 = 1, Y1 = 1 }, Mode = EditMode.ClassEdit },
        };
        using var call = client.Edit(request);
        var e = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        var violation = Assert.Single(e.GetRpcStatus()!.GetDetail<BadRequest>().FieldViolations);
        Assert.Equal(field, violation.Field);
        Assert.Contains(text, violation.Description);
    }

    [Fact]
    public async Task ReflectionListsTheServices()
    {
        await factory.WaitServingAsync();
        var reflection = new Grpc.Reflection.V1Alpha.ServerReflection.ServerReflectionClient(factory.Channel());
        using var call = reflection.ServerReflectionInfo();
        await call.RequestStream.WriteAsync(new Grpc.Reflection.V1Alpha.ServerReflectionRequest { ListServices = "" });
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext());
        var names = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();
        Assert.Contains("var.v1.Generation", names);
        Assert.Contains("grpc.health.v1.Health", names);
    }

    [Fact]
    public async Task MetricsEndpointExportsServiceInstruments()
    {
        await factory.WaitServingAsync();
        await factory.Client().GenerateAsync(Requests.One(3, 1));
        await Assert.ThrowsAsync<RpcException>(() => factory.Client().GenerateAsync(new GenerateRequest { ClassId = 99 }).ResponseAsync);
        var text = "";
        // The Prometheus exporter caches a scrape briefly; wait until it shows this test's calls.
        for (int attempt = 0; attempt < 100 && !(text.Contains("var_images_generated") && text.Contains("var_errors")); attempt++)
        {
            text = await factory.CreateClient().GetStringAsync("/metrics");
            await Task.Delay(50);
        }
        Assert.Contains("var_images_generated", text);
        Assert.Contains("var_batch_size", text);
        Assert.Contains("var_scale_duration", text);
        Assert.Contains("var_queue_depth", text);
        Assert.Contains("var_errors", text);
        Assert.Contains("InvalidArgument", text);
    }
}
