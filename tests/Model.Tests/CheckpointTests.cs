using Var.Model.Checkpoints;
using Var.Model.Transformer;

namespace Var.Model.Tests;

public class CheckpointTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("var-ckpt-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static VarTransformer SmallVar(int depth = 2) => new(new VarConfig
    {
        Depth = depth,
        EmbedDim = 64,
        NumHeads = 2,
        NumClasses = 3,
        VocabSize = 32,
        VaeChannels = 4,
        PatchNums = [1, 2, 3],
    });

    [Theory]
    [InlineData(5, 32, "classes")]
    [InlineData(3, 16, "tokenizer")]
    public void ARefinerThatDoesNotFitTheDrafterNamesTheFileAndTheMismatch(int classes, int vocab, string what)
    {
        using var drafter = SmallVar();
        using var refiner = new VarTransformer(drafter.Config with { Depth = 1, EmbedDim = 32, NumHeads = 1, NumClasses = classes, VocabSize = vocab });
        var path = Path.Combine(dir, "refiner_bad.safetensors");
        StateDict.WriteSafetensors(path, refiner.state_dict().Select(kv => (kv.Key, kv.Value)));
        var e = Assert.Throws<CheckpointException>(() => ModelLoader.LoadOfficialRefiner(path, drafter.Config));
        Assert.Contains("refiner_bad.safetensors", e.Message);
        Assert.Contains(what, e.Message);
        // A refiner that fits loads, with its own width and depth.
        using var fitting = new VarTransformer(drafter.Config with { Depth = 1, EmbedDim = 32, NumHeads = 1 });
        var good = Path.Combine(dir, "refiner_good.safetensors");
        StateDict.WriteSafetensors(good, fitting.state_dict().Select(kv => (kv.Key, kv.Value)));
        using var loaded = ModelLoader.LoadOfficialRefiner(good, drafter.Config);
        Assert.Equal((1, 32), (loaded.Config.Depth, loaded.Config.EmbedDim));
    }

    [SkippableFact]
    public void TruncatedPthNamesTheFile()
    {
        var src = Fixtures.VarParity("var_l2.pth");
        var bytes = File.ReadAllBytes(src);
        var path = Path.Combine(dir, "truncated.pth");
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<CheckpointException>(() => StateDict.Read(path));
        Assert.Contains("truncated.pth", e.Message);
    }

    [SkippableFact]
    public void CorruptedPthNamesTheFile()
    {
        var bytes = File.ReadAllBytes(Fixtures.VarParity("var_l2.pth"));
        // Overwrite the middle (tensor data and pickle) with garbage but keep the zip signature.
        new Random(1).NextBytes(bytes.AsSpan(100, bytes.Length - 200));
        var path = Path.Combine(dir, "corrupt.pth");
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<CheckpointException>(() => StateDict.Read(path));
        Assert.StartsWith(path, e.Message);
    }

    [Fact]
    public void GarbageAndEmptyFilesAreRejected()
    {
        var garbage = Path.Combine(dir, "garbage.bin");
        File.WriteAllBytes(garbage, Enumerable.Range(0, 1000).Select(i => (byte)(i * 7)).ToArray());
        Assert.Contains("garbage.bin", Assert.Throws<CheckpointException>(() => StateDict.Read(garbage)).Message);
        var empty = Path.Combine(dir, "empty.pth");
        File.WriteAllBytes(empty, []);
        Assert.Contains("empty", Assert.Throws<CheckpointException>(() => StateDict.Read(empty)).Message);
        Assert.Contains("not found", Assert.Throws<CheckpointException>(() => StateDict.Read(Path.Combine(dir, "nope.pth"))).Message);
    }

    [SkippableFact]
    public void MismatchedCheckpointNamesTheFirstOffendingKey()
    {
        var path = Fixtures.VarParity("var_l2.pth");
        using var sd = StateDict.Read(path);
        var detected = ConfigDetector.DetectVar(sd);
        using var deeper = new VarTransformer(detected with { Depth = 3 });
        var missing = Assert.Throws<CheckpointException>(() => sd.LoadInto(deeper));
        Assert.Contains("missing key 'blocks.2.", missing.Message);
        Assert.StartsWith(path, missing.Message);
        using var shallower = new VarTransformer(detected with { Depth = 1 });
        Assert.Contains("unexpected key 'blocks.1.", Assert.Throws<CheckpointException>(() => sd.LoadInto(shallower)).Message);
        using var wider = new VarTransformer(detected with { NumClasses = 11 });
        var shape = Assert.Throws<CheckpointException>(() => sd.LoadInto(wider));
        Assert.Contains("class_emb.weight", shape.Message);
        Assert.Contains("[11,128]", shape.Message.Replace(" ", ""));
    }

    [Fact]
    public void SafetensorsRoundTripIsExact()
    {
        using var scope = NewDisposeScope();
        using var a = SmallVar();
        var path = Path.Combine(dir, "m.safetensors");
        StateDict.WriteSafetensors(path, a.state_dict().Select(kv => (kv.Key, kv.Value)), new Dictionary<string, string> { ["note"] = "x" });
        using var sd = StateDict.Read(path);
        Assert.Equal("x", sd.Metadata["note"]);
        using var b = SmallVar();
        sd.LoadInto(b);
        foreach (var (key, value) in a.state_dict())
            Assert.True(value.eq(b.state_dict()[key]).all().item<bool>(), key);
    }

    [Fact]
    public void TruncatedSafetensorsIsRejected()
    {
        using var a = SmallVar();
        var path = Path.Combine(dir, "m.safetensors");
        StateDict.WriteSafetensors(path, a.state_dict().Select(kv => (kv.Key, kv.Value)));
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length - 100)]);
        Assert.Contains("truncated", Assert.Throws<CheckpointException>(() => StateDict.Read(path)).Message);
    }
}
