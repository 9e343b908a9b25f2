using Var.Decoding.Editing;
using Var.Decoding.Imaging;
using Var.Decoding.Sampling;
using Var.Model.Checkpoints;
using Var.Training.Data;

namespace Var.Training.Tests;

/// <summary>
/// A class edit of the whole image (issue 12): with the shipped model, the edited images are the requested class in
/// the judge's eyes (the judge is never a sampler's: it only checks here).
/// </summary>
public class ClassEditJudgeTests
{
    [SkippableFact]
    public void AWholeImageClassEditTurnsTheJudgesVerdictToTheRequestedClass()
    {
        string? folder = TestData.ShippedModelFolder();
        Skip.If(folder is null, "weights/fmnist/model.json is absent");
        var input = Path.Combine(folder!, "..", "..", "docs", "edit-input.png");
        Skip.IfNot(File.Exists(input), "docs/edit-input.png is absent");
        using var scope = NewDisposeScope();
        using var model = ModelLoader.Load(new ModelSource { Model = folder });
        using var judge = ModelLoader.LoadClassifier(folder!, "judge");
        int size = model.ImageSize;
        var rgb = ImageCodec.LoadRgb(input, size);
        var edit = EditTarget.FromImage(model, rgb, EditRegion.Box(size, 0, 0, 1, 1));
        using var batch0 = ImageCodec.ToTensor([rgb], size, CPU);
        long before;
        using (no_grad()) before = judge.forward(batch0).argmax(1).item<long>();

        // Three classes other than the input's, five seeds each.
        var targets = Enumerable.Range(0, 10).Where(c => c != before).Where((_, i) => i % 3 == 0).Take(3).ToArray();
        var requests = targets.SelectMany(c => Enumerable.Range(0, 5).Select(s => new SampleRequest(c, 500 + s, model.Sampling) { Edit = edit })).ToList();
        var images = new ImageGenerator(model).Generate(requests);
        using var batch = ImageCodec.ToTensor(images.Select(i => i!.Rgb).ToList(), size, CPU);
        Tensor predicted;
        using (no_grad()) predicted = judge.forward(batch).argmax(1);
        int turned = Enumerable.Range(0, requests.Count).Count(n => predicted[n].item<long>() == requests[n].ClassId);
        string detail = string.Join(", ", targets.Select(c => $"{FashionMnistClasses.Names[c]} {Enumerable.Range(0, requests.Count).Count(n => requests[n].ClassId == c && predicted[n].item<long>() == c)}/5"));
        // "In most seeds" (issue 12): more than half. Measured 10/15 (t-shirt 5/5, dress 4/5, sneaker 1/5: the forced 1×1
        // token of a coat's mean colour suits a sneaker least).
        Assert.True(turned >= 8, $"the judge saw the requested class in {turned}/15 edits (input judged {FashionMnistClasses.Names[(int)before]}): {detail}");
    }
}
