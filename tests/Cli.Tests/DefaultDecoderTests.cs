using Var.Decoding.Decoders;
using Var.Model;
using Var.Model.Checkpoints;

namespace Var.Cli.Tests;

/// <summary>
/// A model folder's default decoder (model.json <c>decoder</c>): the shipped fmnist names hmar, so a request without
/// --decoder decodes with HMAR; an explicit --decoder wins; another decoder's settings without --decoder still ask
/// for that decoder; a folder loaded for another transformer, or without the field, decodes with var; a bad value is
/// refused when the folder loads.
/// </summary>
public sealed class DefaultDecoderTests
{
    [Fact]
    public void TheShippedFolderDecodesWithItsNamedDefaultAndAnExplicitChoiceWins()
    {
        using var model = ModelLoader.Load(new ModelSource { Model = "fmnist" });
        Assert.Equal("hmar", model.DefaultDecoder);
        var hmar = Assert.IsType<HmarDecoding>(DecoderArguments.Create(new DecoderChoice(), model));
        Assert.Null(hmar.PassesPerScale); // the folder's measured schedule
        Assert.Equal(ModelLoader.HmarRole, hmar.Transformer);
        Assert.IsType<VarDecoding>(DecoderArguments.Create(new DecoderChoice { Kind = "var" }, model));
        Assert.IsType<CollaborativeDecoding>(DecoderArguments.Create(new DecoderChoice { Kind = "code" }, model));
        var error = Assert.Throws<ArgumentException>(() => DecoderArguments.Create(new DecoderChoice { DraftScales = 3 }, model));
        Assert.Contains("--decoder code", error.Message);
        Assert.IsType<HmarDecoding>(DecoderArguments.Create(new DecoderChoice { Steps = [1, 2, 1, 1, 1, 1] }, model));

        using var refiner = ModelLoader.Load(new ModelSource { Model = "fmnist", Role = "refiner" });
        Assert.Null(refiner.DefaultDecoder);
        Assert.IsType<VarDecoding>(DecoderArguments.Create(new DecoderChoice(), refiner));
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData("\"var\"", null)]
    [InlineData("\"code\"", "a folder's default decoder is var or hmar")]
    public void TheFieldIsVarOrHmar(string? value, string? error)
    {
        string folder = Path.Combine(Path.GetTempPath(), "default-decoder-" + Guid.NewGuid().ToString("N"));
        string shipped = ModelLoader.ResolveModelFolder("fmnist");
        Directory.CreateDirectory(folder);
        try
        {
            foreach (var f in Directory.EnumerateFiles(shipped)) File.Copy(f, Path.Combine(folder, Path.GetFileName(f)));
            string manifest = Path.Combine(folder, ModelManifest.FileName);
            string text = File.ReadAllText(manifest).Replace("\"decoder\": \"hmar\",", value is null ? "" : $"\"decoder\": {value},", StringComparison.Ordinal);
            File.WriteAllText(manifest, text);
            if (error is null)
            {
                using var model = ModelLoader.Load(new ModelSource { Model = folder });
                Assert.True(model.DefaultDecoder is null or "var", $"default decoder {model.DefaultDecoder}");
                Assert.IsType<VarDecoding>(DecoderArguments.Create(new DecoderChoice(), model));
            }
            else
            {
                var e = Assert.Throws<CheckpointException>(() => ModelLoader.Load(new ModelSource { Model = folder }));
                Assert.Contains(error, e.Message);
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
