using Var.Decoding.Decoders;
using Var.Decoding.Editing;
using Var.Decoding.Sampling;
using Var.Model;

namespace Var.Decoding.Tests.Editing;

/// <summary>Masked teacher forcing as a constraint on any plan (var.md §5), on tiny models.</summary>
public class EditingTests
{
    private static readonly SamplingSettings Plain = new() { Cfg = 2.0, TopK = 20, TopP = 0.9 };

    /// <summary>An image made by the model itself, and a pixel mask regenerating the box [x0, x1) × [y0, y1) (pixels).</summary>
    private static (byte[] Rgb, float[] Mask) Input(ModelBundle model, int x0, int y0, int x1, int y1)
    {
        var rgb = new ImageGenerator(model).Generate([new SampleRequest(2, 99, Plain)])[0]!.Rgb;
        int size = model.ImageSize;
        var mask = new float[size * size];
        for (int y = y0; y < y1; y++)
            for (int x = x0; x < x1; x++) mask[y * size + x] = 1;
        return (rgb, mask);
    }

    private static bool[] KeptAtLastScale(EditTarget edit) => edit.KeepMask.Select(k => k == 1).ToArray();

    [Theory]
    [InlineData("var")]
    [InlineData("code")]
    public void ABoxInpaintKeepsTheImageTokensOutsideTheBoxAndRedrawsInside(string kind)
    {
        using var model = TinyModels.CreatePair();
        IDecoder decoder = kind == "var" ? new VarDecoding() : new CollaborativeDecoding(2);
        var (rgb, mask) = Input(model, 2, 2, 6, 6);
        var edit = EditTarget.FromImage(model, rgb, mask);
        int k = model.Vqvae.Config.PatchNums.Length, side = edit.MaskSide;
        var keep = KeptAtLastScale(edit);
        Assert.Equal(4, keep.Count(kept => !kept));
        int unconditional = model.Transformer.Config.NumClasses;
        var generator = new ImageGenerator(model, decoder);
        var a = generator.Generate([new SampleRequest(unconditional, 1, Plain) { Edit = edit }])[0]!;
        var b = generator.Generate([new SampleRequest(unconditional, 2, Plain) { Edit = edit }])[0]!;
        for (int j = 0; j < side * side; j++)
        {
            if (keep[j]) Assert.Equal(edit.Tokens[k - 1][j], a.Tokens[k - 1][j]);
        }
        // The 1×1 scale is always the image's.
        Assert.Equal(edit.Tokens[0], a.Tokens[0]);
        // Inside the box, seeds give different tokens.
        var inside = Enumerable.Range(0, side * side).Where(j => !keep[j]).ToArray();
        Assert.NotEqual(inside.Select(j => a.Tokens[k - 1][j]), inside.Select(j => b.Tokens[k - 1][j]));
    }

    [Fact]
    public void AnEditRowIsBatchInvariantAndLeavesPlainRowsAlone()
    {
        using var model = TinyModels.Create();
        var (rgb, mask) = Input(model, 0, 0, 4, 8);
        var edit = EditTarget.FromImage(model, rgb, mask);
        var generator = new ImageGenerator(model);
        var plain = new SampleRequest(1, 5, Plain);
        var edited = new SampleRequest(3, 6, Plain) { Edit = edit };
        var together = generator.Generate([plain, edited]);
        Assert.Equal(generator.Generate([plain])[0]!.Tokens, together[0]!.Tokens);
        Assert.Equal(generator.Generate([edited])[0]!.Tokens, together[1]!.Tokens);
        Assert.NotEqual(together[0]!.Tokens, together[1]!.Tokens);
    }

    [Fact]
    public void TheSmoothPathWorksWithAnEdit()
    {
        using var model = TinyModels.Create();
        var (rgb, mask) = Input(model, 4, 0, 8, 8);
        var edit = EditTarget.FromImage(model, rgb, mask);
        var smooth = new SamplingSettings { Cfg = 2.0, TopK = 20, TopP = 0.9, MoreSmooth = true };
        var image = new ImageGenerator(model).Generate([new SampleRequest(0, 3, smooth) { Edit = edit }])[0]!;
        Assert.Equal(edit.Tokens[0], image.Tokens[0]);
        Assert.True(image.Rgb.Distinct().Count() > 4, "the decoded image is flat");
    }

    [Fact]
    public void AMaskThatRegeneratesNothingIsRefused()
    {
        using var model = TinyModels.Create();
        var (rgb, mask) = Input(model, 0, 0, 1, 1);
        var e = Assert.Throws<ArgumentException>(() => EditTarget.FromImage(model, rgb, mask));
        Assert.Contains("regenerates no token", e.Message);
    }

    [Fact]
    public void FeatheringKeepsTheInputBeyondTheRadiusAndTheResultInsideTheRegion()
    {
        using var model = TinyModels.Create();
        var (rgb, mask) = Input(model, 0, 0, 4, 8);
        var request = new SampleRequest(3, 6, Plain);
        var sharp = EditTarget.FromImage(model, rgb, mask);
        var feathered = sharp.WithFeather(rgb, mask, 2);
        var generator = new ImageGenerator(model);
        var plain = generator.Generate([request with { Edit = sharp }])[0]!;
        var soft = generator.Generate([request with { Edit = feathered }])[0]!;
        Assert.Equal(plain.Tokens, soft.Tokens);
        int size = model.ImageSize;
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++)
                for (int c = 0; c < 3; c++)
                {
                    int i = (y * size + x) * 3 + c;
                    if (x < 4) Assert.Equal(plain.Rgb[i], soft.Rgb[i]);        // inside: the decoded result
                    else if (x >= 4 + 2) Assert.Equal(rgb[i], soft.Rgb[i]);   // beyond the radius: the input
                }
        Assert.Throws<ArgumentOutOfRangeException>(() => sharp.WithFeather(rgb, mask, -1));
    }
}
