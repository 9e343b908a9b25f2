using System.Text.Json.Nodes;
using Var.Decoding.Decoders;
using Var.Model.Checkpoints;

namespace Var.Service.Tests;

/// <summary>model.json <c>hmar.steps_per_scale</c>: the schedule of a request that names none, checked when the folder loads.</summary>
public sealed class HmarDefaultsTests
{
    private static string CopyWithHmar(JsonNode? hmar)
    {
        var source = Path.Combine(TinyModelFolder.Shared.Root, TinyModelFolder.Name);
        var copy = Path.Combine(Path.GetTempPath(), "var-hmar-defaults-" + Guid.NewGuid().ToString("N")[..8], TinyModelFolder.Name);
        Directory.CreateDirectory(copy);
        foreach (var file in Directory.GetFiles(source)) File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
        var manifestPath = Path.Combine(copy, ModelManifest.FileName);
        var manifest = JsonNode.Parse(File.ReadAllText(manifestPath))!.AsObject();
        manifest["hmar"] = hmar;
        File.WriteAllText(manifestPath, manifest.ToJsonString());
        return copy;
    }

    [Fact]
    public void ARequestWithoutAScheduleTakesTheModelsAndAnExplicitOneWins()
    {
        var folder = CopyWithHmar(new JsonObject { ["steps_per_scale"] = new JsonArray(1, 1, 2, 1), ["note"] = "test" });
        try
        {
            using var model = ModelLoader.Load(new ModelSource { Model = folder });
            Assert.Equal([1, 1, 2, 1], model.DefaultHmarPasses);
            Assert.Equal([1, 1, 2, 1], new HmarDecoding().Schedule(model).Passes);
            Assert.Equal([1, 2, 3, 2], new HmarDecoding([1, 2, 3, 2]).Schedule(model).Passes);
            // Without the entry: the reference default (1, 2, 4, then 1).
            Assert.Equal([1, 2, 4, 1], new HmarDecoding().Schedule(model.Vqvae.Config.PatchNums).Passes);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(folder)!, recursive: true);
        }
    }

    [Fact]
    public void AFolderThatNamesHmarAsItsDecoderServesHmarToRequestsThatNameNone()
    {
        var folder = CopyWithHmar(null);
        try
        {
            var manifestPath = Path.Combine(folder, ModelManifest.FileName);
            var manifest = JsonNode.Parse(File.ReadAllText(manifestPath))!.AsObject();
            manifest["decoder"] = "hmar";
            File.WriteAllText(manifestPath, manifest.ToJsonString());
            using var model = ModelLoader.Load(new ModelSource { Model = folder });
            Assert.Equal("hmar", new Var.Service.Models.LoadedModel("tiny", model).DefaultDecoder);
            using var plain = ModelLoader.Load(new ModelSource { Model = Path.Combine(TinyModelFolder.Shared.Root, TinyModelFolder.Name) });
            Assert.Equal("var", new Var.Service.Models.LoadedModel("tiny", plain).DefaultDecoder);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(folder)!, recursive: true);
        }
    }

    [Theory]
    [InlineData(new[] { 1, 2 })]
    [InlineData(new[] { 1, 2, 10, 1 })]
    [InlineData(new[] { 1, 0, 1, 1 })]
    public void AScheduleThatDoesNotFitTheScalesIsRefusedWhenTheFolderLoads(int[] passes)
    {
        var folder = CopyWithHmar(new JsonObject { ["steps_per_scale"] = new JsonArray(passes.Select(p => (JsonNode)p).ToArray()) });
        try
        {
            var e = Assert.Throws<CheckpointException>(() => ModelLoader.Load(new ModelSource { Model = folder }).Dispose());
            Assert.Contains("hmar.steps_per_scale", e.Message);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(folder)!, recursive: true);
        }
    }
}
