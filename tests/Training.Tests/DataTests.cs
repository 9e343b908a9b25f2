using Var.Training.Data;

namespace Var.Training.Tests;

public class DataTests
{
    [Fact]
    public void BatchIsCentredGreyRgbInMinusOneToOneWithBlackBorder()
    {
        string dir = TestData.WriteSynthetic();
        var train = FashionMnist.Load("train", dir);
        Assert.Equal(64, train.Count);
        using var img = train.Batch([3, 5]);
        Assert.Equal(new long[] { 2, 3, 32, 32 }, img.shape);
        Assert.Equal(ScalarType.Float32, img.dtype);
        Assert.True(img.min().item<float>() >= -1f && img.max().item<float>() <= 1f);
        var v = img.data<float>().ToArray();
        float At(int n, int c, int y, int x) => v[((n * 3 + c) * 32 + y) * 32 + x];
        for (int k = 0; k < 32; k++)
        {
            foreach (int edge in new[] { 0, 1, 30, 31 })
            {
                Assert.Equal(-1f, At(1, 2, edge, k));
                Assert.Equal(-1f, At(0, 0, k, edge));
            }
        }
        for (int y = 0; y < 28; y += 9)
        {
            for (int x = 0; x < 28; x += 5)
            {
                float want = TestData.Pixel(5, y, x) / 127.5f - 1f;
                for (int c = 0; c < 3; c++) Assert.Equal(want, At(1, c, y + 2, x + 2), 5);
            }
        }
        Assert.Equal(new long[] { 3, 5 }, train.LabelBatch([3, 5]).data<long>().ToArray());
    }

    [Fact]
    public void MissingDataNamesTheInstallCommand()
    {
        var e = Assert.Throws<FileNotFoundException>(() => FashionMnist.Load("train", "/nonexistent/fmnist"));
        Assert.Contains("apt-get install -y dataset-fashion-mnist", e.Message);
    }

    [SkippableFact]
    public void RealDataHasTheExpectedSizesAndBalancedClasses()
    {
        Skip.IfNot(FashionMnist.IsAvailable(), "Fashion-MNIST is not installed (apt-get install -y dataset-fashion-mnist)");
        var test = FashionMnist.Load("test");
        Assert.Equal(10_000, test.Count);
        var subset = test.BalancedSubset(10, seed: 1);
        Assert.Equal(100, subset.Length);
        Assert.All(Enumerable.Range(0, 10), k => Assert.Equal(10, subset.Count(i => test.Label(i) == k)));
        Assert.Equal(10, FashionMnistClasses.Names.Count);
        Assert.Equal("ankle boot", FashionMnistClasses.Names[9]);
    }
}
