using Google.Rpc;
using Grpc.Core;

namespace Var.Service.Tests;

/// <summary>Bad requests end with INVALID_ARGUMENT and a google.rpc.BadRequest naming the field; never a hang or UNKNOWN.</summary>
public sealed class ValidationTests(ServiceFactory factory) : IClassFixture<ServiceFactory>
{
    public static TheoryData<string, string, string> Cases => new()
    {
        // name of the case, field expected in the violation, text expected in its description
        { "unknown model", "model", "did you mean 'tiny'" },
        { "unknown class name", "class_name", "did you mean 'coat'" },
        { "class id out of range", "class_id", "out of range 0..9" },
        { "no class", "class_id", "class is required" },
        { "count too large", "count", "1..64" },
        { "negative count", "count", "1..64" },
        { "seeds do not match count", "seeds", "one per image" },
        { "cfg out of range", "cfg", "[0, 50]" },
        { "cfg not a number", "cfg", "[0, 50]" },
        { "negative top-k", "top_k", "≥ 0" },
        { "top-p above one", "top_p", "[0, 1]" },
        { "jpeg quality zero", "output.jpeg_quality", "1..100" },
        { "class name too long", "class_name", "longer than 128" },
        { "draft scales out of range", "code.draft_scales", "1..4" },
        { "refiner cfg out of range", "code.refiner_cfg", "[0, 50]" },
        { "refiner is the drafter", "code.refiner_model", "not a refiner" },
        { "search budget too large", "tts_var.budget", "1..64" },
        { "search budget below one", "tts_var.budget", "1..64" },
        { "search with the judge", "tts_var.reward", "no sampler may use a judge" },
        { "search with the second judge", "tts_var.reward", "no sampler may use a judge" },
        { "search with an unknown reward", "tts_var.reward", "has: implicit" },
        { "search with budget and candidates", "tts_var.budget", "not both" },
        { "search with too many final draws", "tts_var.final_draws", "1..64" },
        { "search wider than a batch", "tts_var.initial_candidates", "1..256" },
    };

    private static GenerateRequest Make(string name) => name switch
    {
        "unknown model" => new GenerateRequest { Model = "tiyn", ClassId = 0 },
        "unknown class name" => new GenerateRequest { ClassName = "cot" },
        "class id out of range" => new GenerateRequest { ClassId = 10 },
        "no class" => new GenerateRequest { Count = 1 },
        "count too large" => new GenerateRequest { ClassId = 0, Count = 65 },
        "negative count" => new GenerateRequest { ClassId = 0, Count = -1 },
        "seeds do not match count" => new GenerateRequest { ClassId = 0, Count = 3, Seeds = { 1, 2 } },
        "cfg out of range" => new GenerateRequest { ClassId = 0, Cfg = 51 },
        "cfg not a number" => new GenerateRequest { ClassId = 0, Cfg = double.NaN },
        "negative top-k" => new GenerateRequest { ClassId = 0, TopK = -1 },
        "top-p above one" => new GenerateRequest { ClassId = 0, TopP = 1.5 },
        "jpeg quality zero" => new GenerateRequest { ClassId = 0, Output = new OutputFormat { Encoding = ImageEncoding.Jpeg, JpegQuality = 0 } },
        "class name too long" => new GenerateRequest { ClassName = new string('x', 200) },
        "draft scales out of range" => new GenerateRequest { ClassId = 0, Code = new CodeDecoder { DraftScales = 5 } },
        "refiner cfg out of range" => new GenerateRequest { ClassId = 0, Code = new CodeDecoder { RefinerCfg = -1 } },
        "refiner is the drafter" => new GenerateRequest { ClassId = 0, Code = new CodeDecoder { RefinerModel = "var" } },
        "search budget too large" => new GenerateRequest { ClassId = 0, TtsVar = new TtsVarDecoder { Budget = 65 } },
        "search budget below one" => new GenerateRequest { ClassId = 0, TtsVar = new TtsVarDecoder { Budget = 0.5 } },
        "search with the judge" => new GenerateRequest { ClassId = 0, TtsVar = new TtsVarDecoder { Reward = "judge" } },
        "search with the second judge" => new GenerateRequest { ClassId = 0, TtsVar = new TtsVarDecoder { Reward = "judge2" } },
        "search with an unknown reward" => new GenerateRequest { ClassId = 0, TtsVar = new TtsVarDecoder { Reward = "aesthetics" } },
        "search with budget and candidates" => new GenerateRequest { ClassId = 0, TtsVar = new TtsVarDecoder { Budget = 2, InitialCandidates = 8 } },
        "search with too many final draws" => new GenerateRequest { ClassId = 0, TtsVar = new TtsVarDecoder { Budget = 2, FinalDraws = 65 } },
        "search wider than a batch" => new GenerateRequest { ClassId = 0, TtsVar = new TtsVarDecoder { InitialCandidates = 1000 } },
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task InvalidRequestIsRefusedWithAFieldViolation(string name, string field, string text)
    {
        await factory.WaitServingAsync();
        var client = factory.Client();
        foreach (var streaming in new[] { false, true })
        {
            var e = await Assert.ThrowsAsync<RpcException>(async () =>
            {
                if (!streaming)
                {
                    await client.GenerateAsync(Make(name));
                    return;
                }
                using var call = client.GenerateStream(Make(name));
                await call.ResponseStream.MoveNext();
            });
            Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
            var badRequest = e.GetRpcStatus()?.GetDetail<BadRequest>();
            Assert.NotNull(badRequest);
            var violation = Assert.Single(badRequest.FieldViolations);
            Assert.Equal(field, violation.Field);
            Assert.Contains(text, violation.Description);
            Assert.Contains(field, e.Status.Detail);
        }
    }

    [Fact]
    public async Task EveryViolationIsReportedAtOnce()
    {
        await factory.WaitServingAsync();
        var e = await Assert.ThrowsAsync<RpcException>(() =>
            factory.Client().GenerateAsync(new GenerateRequest { ClassName = "cot", Count = 100, TopP = 2, TopK = -3 }).ResponseAsync);
        var fields = e.GetRpcStatus()!.GetDetail<BadRequest>().FieldViolations.Select(v => v.Field).Order().ToArray();
        Assert.Equal(["class_name", "count", "top_k", "top_p"], fields);
    }

    [Fact]
    public async Task OversizedMessageIsRefusedBeforeItReachesTheHandler()
    {
        await factory.WaitServingAsync();
        var e = await Assert.ThrowsAsync<RpcException>(() =>
            factory.Client().GenerateAsync(new GenerateRequest { ClassName = new string('x', 5 * 1024 * 1024) }).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
        // The server still serves.
        Assert.Single((await factory.Client().GenerateAsync(Requests.One(0, 1))).Images);
    }

    [Fact]
    public async Task VarClientStreamsImagesWithProgressAndExplainsErrors()
    {
        await factory.WaitServingAsync();
        using var remote = new Var.Client.VarClient(factory.Channel());
        var stages = new List<Var.Client.RemoteStage>();
        int previews = 0;
        var images = await remote.StreamAsync(new Var.Client.RemoteRequest { Class = "bag", Count = 3, Seed = 100, Preview = true, Cfg = 1 },
            p =>
            {
                stages.Add(p.Stage);
                previews += p.Previews.Count;
            });
        Assert.Equal([100L, 101, 102], images.Select(i => i.Seed));
        Assert.All(images, i => Assert.Equal(("bag", 8, 1.0, "image/png"), (i.ClassName, i.ClassId, i.Cfg, i.MimeType)));
        Assert.Equal(Var.Client.RemoteStage.Queued, stages[0]);
        Assert.Equal(3, stages.Count(s => s == Var.Client.RemoteStage.Image));
        Assert.True(previews >= 12);

        var error = await Assert.ThrowsAsync<Var.Client.RemoteGenerationException>(() => remote.StreamAsync(new Var.Client.RemoteRequest { Class = "bagg" }));
        Assert.Equal(StatusCode.InvalidArgument, error.Code);
        Assert.Contains("did you mean 'bag'", error.Message);
    }
}
