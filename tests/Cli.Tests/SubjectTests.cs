using System.Text.Json.Nodes;
using Grpc.Health.V1;
using Var.Cli.Subject;
using Var.Client;
using Var.Decoding.Decoders;
using Var.Decoding.Imaging;
using Var.Decoding.Sampling;
using Var.Model;
using Var.Model.Checkpoints;
using Var.Training.Subject;
using static TorchSharp.torch;

namespace Var.Cli.Tests;

/// <summary>A model taught one class from three synthetic pictures (a few steps: the mechanics, not the quality), shared by the tests.</summary>
public sealed class TaughtModel : IDisposable
{
    /// <summary>The new class's name.</summary>
    public const string ClassName = "plus sign";

    /// <summary>Teaches the class into a temporary models folder.</summary>
    public TaughtModel()
    {
        Root = Path.Combine(Path.GetTempPath(), "var-subject-tests-" + Guid.NewGuid().ToString("N")[..8]);
        Shots = SubjectTests.WriteShots(Path.Combine(Root, "shots"), 3);
        var options = new SubjectTrainOptions
        {
            Name = "taught",
            RunsDirectory = Path.Combine(Root, "runs"),
            Steps = 4,
            WarmupSteps = 1,
            ClassName = ClassName,
            Threads = 1,
            // A selection (not the default "all"), so that the tests also see frozen layers stay bit-identical.
            Layers = ["class", "ffn", "adaln"],
            Augment = 8
        };
        SubjectTeach.Run(options, "fmnist", Shots, Folder, priorPerClass: 2, _ => { }, CancellationToken.None);
    }

    /// <summary>The temporary root.</summary>
    public string Root { get; }

    /// <summary>The shots folder.</summary>
    public string Shots { get; }

    /// <summary>The models folder holding the taught model.</summary>
    public string Models => Path.Combine(Root, "models");

    /// <summary>The taught model's folder.</summary>
    public string Folder => Path.Combine(Models, "taught");

    /// <inheritdoc />
    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>
/// <c>var train subject</c>: one class is added and nothing else moves (the old classes' golden images come back
/// exactly when the tuned layers are restored); the new model generates by name and is listed by the service; bad input
/// is refused with exit code 2 before anything is written.
/// </summary>
public sealed class SubjectTests(TaughtModel taught) : IClassFixture<TaughtModel>
{
    /// <summary>Writes <paramref name="count"/> 40×40 PNGs of a white plus sign at different places on black.</summary>
    public static string WriteShots(string folder, int count)
    {
        Directory.CreateDirectory(folder);
        for (int i = 0; i < count; i++)
        {
            var rgb = new byte[40 * 40 * 3];
            int cx = 16 + 3 * i, cy = 20 - 2 * i;
            for (int y = 0; y < 40; y++)
            {
                for (int x = 0; x < 40; x++)
                {
                    if ((Math.Abs(x - cx) <= 2 && Math.Abs(y - cy) <= 12) || (Math.Abs(y - cy) <= 2 && Math.Abs(x - cx) <= 12))
                        rgb[(y * 40 + x) * 3] = rgb[(y * 40 + x) * 3 + 1] = rgb[(y * 40 + x) * 3 + 2] = 255;
                }
            }
            ImageCodec.SavePng(Path.Combine(folder, $"shot{i}.png"), rgb, 40, 40);
        }
        return folder;
    }

    [Fact]
    public void TeachingAddsExactlyOneClassAfterTheOldOnes()
    {
        var manifest = ModelManifest.Read(Path.Combine(taught.Folder, ModelManifest.FileName));
        var baseManifest = ModelManifest.Read(Path.Combine(ModelLoader.ResolveModelFolder("fmnist"), ModelManifest.FileName));
        Assert.Equal([.. baseManifest.Classes, TaughtModel.ClassName], manifest.Classes);
        Assert.Equal(["subject", "var", "vqvae"], manifest.Components.Keys.Order());
        Assert.Equal(TaughtModel.ClassName, manifest.Components["subject"].Provenance!["subject"]!["class_name"]!.GetValue<string>());
        Assert.Equal(3, manifest.Components["subject"].Quality!["shots"]!.AsArray().Count);
        Assert.Equal(new Dictionary<string, string> { [TaughtModel.ClassName] = "subject" }, manifest.ClassTransformers);
        using var model = ModelLoader.Load(new ModelSource { Model = taught.Folder });
        Assert.Equal(11, model.NumClasses);
        Assert.Equal(10, model.Classes.Resolve("PLUS SIGN"));
        Assert.Equal("subject", model.ClassTransformers[10]);
        Assert.Single(model.ClassTransformers);
    }

    [Fact]
    public void OldClassRowsAndTheUnconditionalRowAreKeptAndTheTunedLayersChanged()
    {
        using var tuned = ModelLoader.Load(new ModelSource { Model = taught.Folder });
        using var original = ModelLoader.Load(new ModelSource { Model = "fmnist" });
        var t = tuned.TransformerFor("subject").state_dict();
        var o = original.Transformer.state_dict();
        // The default transformer is the base itself, but for the added row.
        foreach (var (name, p) in tuned.Transformer.state_dict())
        {
            if (name == ClassInsertion.ClassTable)
            {
                Assert.True(p.narrow(0, 0, 10).eq(o[name].narrow(0, 0, 10)).all().item<bool>());
                Assert.True(p[11].eq(o[name][10]).all().item<bool>());
            }
            else Assert.True(p.eq(o[name]).all().item<bool>(), $"the base copy's {name} is the base's");
        }
        var table = t[ClassInsertion.ClassTable];
        var oldTable = o[ClassInsertion.ClassTable];
        Assert.True(table.narrow(0, 0, 10).eq(oldTable.narrow(0, 0, 10)).all().item<bool>());
        Assert.True(table[11].eq(oldTable[10]).all().item<bool>(), "the unconditional row moved to the end unchanged");
        Assert.False(table[10].eq(oldTable[10]).all().item<bool>(), "the new class row was trained");
        Assert.False(t["blocks.0.ffn.fc1.weight"].eq(o["blocks.0.ffn.fc1.weight"]).all().item<bool>(), "a tuned layer changed");
        Assert.True(t["blocks.0.attn.mat_qkv.weight"].eq(o["blocks.0.attn.mat_qkv.weight"]).all().item<bool>(), "an untuned layer is bit-identical");
    }

    [Fact]
    public void TheOldClassesKeepTheirGoldenImagesBesideTheNewClassInOneBatch()
    {
        using var tuned = ModelLoader.Load(new ModelSource { Model = taught.Folder });
        // The first recorded batch of tests/Decoding.Tests/Golden (var, cfg 1.5, classes 0, 4, 9, 6, 2, seeds 0..4).
        var golden = JsonNode.Parse(File.ReadAllText(GoldenFile()))!.AsArray()[0]!;
        var classes = golden["classes"]!.AsArray().Select(c => c!.GetValue<int>()).ToArray();
        var seeds = golden["seeds"]!.AsArray().Select(c => c!.GetValue<long>()).ToArray();
        Assert.Equal([0, 4, 9, 6, 2], classes);
        var settings = new SamplingSettings { Cfg = 1.5, TopK = 0, TopP = 0 };
        // The new class between the old ones: its rows go to the tuned transformer, the others to the base.
        var requests = classes.Select((c, i) => new SampleRequest(c, seeds[i], settings)).ToList();
        requests.Insert(2, new SampleRequest(10, 7, settings));
        requests.Add(new SampleRequest(10, 8, settings));
        var images = new ImageGenerator(tuned).Generate(requests);
        var want = golden["tokens"]!.AsArray().Select(im => im!.AsArray().Select(s => s!.AsArray().Select(x => x!.GetValue<int>()).ToArray()).ToArray()).ToList();
        Assert.Equal(want, images.Where((_, i) => requests[i].ClassId != 10).Select(im => im!.Tokens).ToList());

        // The new class's images are the tuned transformer's, the same as drawn alone by it.
        using var tunedOnly = ModelLoader.Load(new ModelSource { Model = taught.Folder, Role = SubjectTeach.SubjectRole });
        var alone = new ImageGenerator(tunedOnly).Generate([new SampleRequest(10, 7, settings), new SampleRequest(10, 8, settings)]);
        Assert.Equal(alone.Select(im => im!.Tokens), new[] { images[2]!.Tokens, images[^1]!.Tokens });
        using var baseOnly = ModelLoader.Load(new ModelSource { Model = taught.Folder, Role = "var" });
        Assert.Equal(images[1]!.Tokens, new ImageGenerator(baseOnly).Generate([requests[1]])[0]!.Tokens);
    }

    [Fact]
    public void ProgressOfASplitBatchNamesTheCallersRowsAndRunsOn()
    {
        using var tuned = ModelLoader.Load(new ModelSource { Model = taught.Folder });
        var settings = new SamplingSettings { Cfg = 1.5, TopK = 0, TopP = 0 };
        var requests = new[] { 10, 0, 10, 3 }.Select((c, i) => new SampleRequest(c, i, settings)).ToList();
        var events = new List<(int Scale, int[] Rows, TimeSpan Elapsed)>();
        new ImageGenerator(tuned).Generate(requests, onScale: p => events.Add((p.Scale, p.Rows.ToArray(), p.Elapsed)));
        int scales = tuned.Vqvae.Config.PatchNums.Length;
        // One sub-batch per transformer in the order they first appear: the new class (rows 0, 2), then the old ones (1, 3).
        Assert.Equal(2 * scales, events.Count);
        Assert.All(events.Take(scales), e => Assert.Equal([0, 2], e.Rows));
        Assert.All(events.Skip(scales), e => Assert.Equal([1, 3], e.Rows));
        Assert.Equal(events.Select(e => e.Elapsed).Order(), events.Select(e => e.Elapsed));
    }

    [Fact]
    public void ADecoderThatCannotUseTheNewClassesTransformerIsRefusedNamingTheClass()
    {
        using var tuned = ModelLoader.Load(new ModelSource { Model = taught.Folder });
        var hmar = new HmarDecoding(null, "hmar");
        Assert.Same(hmar, ClassRouting.For(tuned, hmar, 3));
        var e = Assert.Throws<ArgumentException>(() => ClassRouting.For(tuned, hmar, 10));
        Assert.Contains(TaughtModel.ClassName, e.Message);
        Assert.Equal(new VarDecoding("subject"), ClassRouting.For(tuned, new VarDecoding(), 10));
        Assert.Equal(new VarDecoding("refiner"), ClassRouting.For(tuned, new VarDecoding("refiner"), 10));
    }

    [Fact]
    public void AffineCopiesAreSeededAndAnIdentityCopyIsTheShotItself()
    {
        using var model = ModelLoader.Load(new ModelSource { Model = "fmnist" });
        using var scope = NewDisposeScope();
        var files = Directory.GetFiles(taught.Shots).Order().ToList();
        var shots = ImageCodec.ToTensor(files.Select(f => ImageCodec.LoadRgb(File.ReadAllBytes(f), model.ImageSize, f)).ToList(), model.ImageSize, CPU);
        var plain = SubjectTrainer.Tokens(model.Vqvae, shots);
        // No rotation, zoom or shift: every copy is its shot (the shots first, then two copies of each in shot order).
        var identity = SubjectTrainer.AugmentedTokens(model.Vqvae, shots, 0, 2, 0, 0, seed: 1);
        Assert.Equal(3 * (1 + 2), identity.shape[0]);
        Assert.True(identity.narrow(0, 0, 3).eq(plain).all().item<bool>());
        Assert.True(identity.narrow(0, 3, 6).eq(plain.repeat_interleave(2, 0)).all().item<bool>());
        // Random copies: seeded, and not the shots.
        var a = SubjectTrainer.AugmentedTokens(model.Vqvae, shots, 1, 4, 10, 0.1, seed: 5);
        var b = SubjectTrainer.AugmentedTokens(model.Vqvae, shots, 1, 4, 10, 0.1, seed: 5);
        var c = SubjectTrainer.AugmentedTokens(model.Vqvae, shots, 1, 4, 10, 0.1, seed: 6);
        Assert.Equal(3 * (9 + 4), a.shape[0]);
        Assert.True(a.eq(b).all().item<bool>());
        Assert.False(a.eq(c).all().item<bool>());
        Assert.False(a.narrow(0, 27, 12).eq(plain.repeat_interleave(4, 0)).all().item<bool>());
    }

    [Fact]
    public void GenerateMakesTheNewClassByName()
    {
        var output = Path.Combine(taught.Root, "generated");
        int code = GenerateCommand.Create().Parse(["--model", taught.Folder, "--class", TaughtModel.ClassName, "--count", "2", "--seed", "3", "--out", output, "--threads", "1"]).Invoke();
        Assert.Equal(0, code);
        Assert.Equal(2, Directory.EnumerateFiles(output, "*.png").Count());
        var line = JsonNode.Parse(File.ReadLines(Path.Combine(output, "manifest.jsonl")).First())!;
        Assert.Equal(10, line["class"]!.GetValue<int>());
        Assert.Equal(TaughtModel.ClassName, line["class_name"]!.GetValue<string>());
    }

    [Fact]
    public async Task TheServiceListsTheNewModelWithTheNewClass()
    {
        using var factory = new SubjectServerFactory(taught.Models);
        var channel = VarClient.CreateChannel(factory.Server.BaseAddress.ToString(), new VarClientOptions(), factory.Server.CreateHandler());
        var health = new Health.HealthClient(channel);
        var until = DateTime.UtcNow.AddSeconds(120);
        while ((await health.CheckAsync(new HealthCheckRequest())).Status != HealthCheckResponse.Types.ServingStatus.Serving)
        {
            Assert.True(DateTime.UtcNow < until, "service not SERVING after 120 s");
            await Task.Delay(20);
        }
        using var client = new VarClient(channel, new VarClientOptions(), owns: true);
        var models = await client.ListModelsAsync();
        var info = Assert.Single(models.Models, m => m.Name == "taught");
        Assert.Equal(11, info.Classes.Count);
        Assert.Equal(TaughtModel.ClassName, info.Classes[10].Name);
        var images = await client.GenerateAsync(new RemoteRequest { Model = "taught", Class = TaughtModel.ClassName, Count = 1, Seed = 2 });
        Assert.Single(images);
    }

    public static TheoryData<string> BadInputs => ["no images", "unreadable file", "existing name", "existing name in other case", "too many images", "output exists"];

    [Theory]
    [MemberData(nameof(BadInputs))]
    public void BadInputIsRefusedWithExitCode2AndNothingWritten(string problem)
    {
        var root = Path.Combine(taught.Root, "bad-" + problem.Replace(' ', '-'));
        var shots = Path.Combine(root, "shots");
        string name = "new thing";
        string output = Path.Combine(root, "out");
        switch (problem)
        {
            case "no images":
                Directory.CreateDirectory(shots);
                break;
            case "unreadable file":
                WriteShots(shots, 2);
                File.WriteAllText(Path.Combine(shots, "broken.png"), "not a picture");
                break;
            case "existing name":
                WriteShots(shots, 3);
                name = "Coat";
                break;
            case "existing name in other case":
                WriteShots(shots, 3);
                name = " ANKLE Boot ";
                break;
            case "too many images":
                WriteShots(shots, SubjectTeach.MaxImages + 1);
                break;
            case "output exists":
                WriteShots(shots, 3);
                Directory.CreateDirectory(output);
                File.WriteAllText(Path.Combine(output, "keep.txt"), "mine");
                break;
        }
        var runs = Path.Combine(root, "runs");
        var error = new StringWriter();
        var stderr = Console.Error;
        Console.SetError(error);
        int code;
        try
        {
            code = TrainCommands.Create().Parse(["subject", "--model", "fmnist", "--images", shots, "--name", name, "--out", output, "--runs", runs, "--steps", "2"]).Invoke();
        }
        finally
        {
            Console.SetError(stderr);
        }
        Assert.Equal(2, code);
        Assert.StartsWith("error: ", error.ToString());
        Assert.False(Directory.Exists(runs), "no run folder");
        if (problem == "output exists") Assert.Equal(["keep.txt"], Directory.EnumerateFileSystemEntries(output).Select(Path.GetFileName));
        else Assert.False(Directory.Exists(output), "no model folder");
        Assert.Contains(problem switch
        {
            "no images" => "no images",
            "unreadable file" => "broken.png",
            "existing name" or "existing name in other case" => "already has a class",
            "too many images" => $"at most {SubjectTeach.MaxImages}",
            _ => "already exists",
        }, error.ToString());
    }

    private static string GoldenFile()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var path = Path.Combine(dir.FullName, "tests", "Decoding.Tests", "Golden", "golden-fmnist.json");
            if (File.Exists(path)) return path;
        }
        throw new FileNotFoundException("golden-fmnist.json not found above " + AppContext.BaseDirectory);
    }
}
