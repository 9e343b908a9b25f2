using Var.Training.Optimization;
using Var.Training.Runs;

namespace Var.Training.Tests;

public class EmaWeightsTests
{
    [Fact]
    public void AverageFollowsTheWarmedUpDecaySwapsAndRestores()
    {
        using var lin = nn.Linear(3, 2);
        var w = lin.weight!;
        using var w0 = w.detach().clone();
        using var ema = new EmaWeights(lin, 0.9);
        using (no_grad()) w.add_(1.0);
        ema.Update(); // d = min(0.9, 2/11)
        double d = 2.0 / 11;
        using var expected = w0.mul(d).add(w.detach(), alpha: 1 - d);
        using var trained = w.detach().clone();
        using (ema.Swapped())
        {
            Assert.True(allclose(w, expected, 1e-6, 1e-6));
        }
        Assert.True(w.eq(trained).all().item<bool>());
        for (int i = 0; i < 200; i++) ema.Update();
        using (ema.Swapped()) Assert.True(allclose(w, trained, 1e-5, 1e-5)); // settles at constant weights
    }

    [Fact]
    public void CheckpointKeepsTheAverageAndItsUpdateCount()
    {
        using var lin = nn.Linear(3, 2);
        using var ema = new EmaWeights(lin, 0.99);
        using (no_grad()) lin.weight!.add_(2.0);
        ema.Update();
        ema.Update();
        using var opt = new NamedAdamW(lin.named_parameters(), (_, _) => false);
        string path = Path.Combine(Path.GetTempPath(), $"ema-{Guid.NewGuid():N}.safetensors");
        try
        {
            new RunCheckpoint(2, 8, 1.0, 1).Save(path, lin, opt, ema.StateItems("ema."));
            using var lin2 = nn.Linear(3, 2);
            using var opt2 = new NamedAdamW(lin2.named_parameters(), (_, _) => false);
            using var ema2 = new EmaWeights(lin2, 0.99);
            bool loaded = false;
            RunCheckpoint.Load(path, lin2, opt2, t => loaded = ema2.Load(t, "ema."));
            Assert.True(loaded);
            // Same shadow and same count: the next update gives the same average in both.
            ema.Update();
            ema2.Update();
            using (ema.Swapped())
            using (ema2.Swapped())
                Assert.True(lin.weight!.eq(lin2.weight!).all().item<bool>());

            using var lin3 = nn.Linear(3, 2);
            using var ema3 = new EmaWeights(lin3, 0.99);
            Assert.False(ema3.Load(new Dictionary<string, Tensor>(), "ema."));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
