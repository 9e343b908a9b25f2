using Var.Model.Classifiers;
using Var.Model.Transformer;
using Var.Training.Classifiers;
using Var.Training.Generator;
using Var.Training.Optimization;
using Var.Training.Runs;
using Var.Training.Tokenizer;

namespace Var.Training.Tests;

public class ResumeTests
{
    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.dtype == b.dtype && a.eq(b).all().item<bool>();

    [Fact]
    public void CheckpointRestoresParametersOptimizerStateAndTheNextLoss()
    {
        var vqConfig = TrainingStepTests.TinyVqvae;
        manual_seed(5);
        using var vae = TokenizerTrainer.Build(vqConfig);
        vae.eval();
        var config = new VarTrainOptions { Depth = 2, Width = 32, Heads = 2 }.ConfigFor(vqConfig.VocabSize, vqConfig.ZChannels, vqConfig.PatchNums)
            with
        { DropPathRate = 0.2 };
        using var tokens = randint(0, vqConfig.VocabSize, [4, vqConfig.TotalTokens], dtype: ScalarType.Int64);
        using var labels = tensor(new long[] { 0, 1, 2, 3 });
        const int seed = 9;

        double TrainStep(VarTransformer model, NamedAdamW optimizer, long step)
        {
            using var scope = NewDisposeScope();
            StepSeed.Apply(seed, step);
            optimizer.ZeroGrad();
            var loss = VarTrainer.Loss(model, vae, tokens, labels, 0.5, out _);
            loss.backward();
            optimizer.Step(1e-2);
            return loss.item<float>();
        }

        string path = Path.Combine(Path.GetTempPath(), $"var-resume-{Guid.NewGuid():N}.safetensors");
        manual_seed(1);
        using var a = VarTrainer.Build(config);
        a.train();
        using var optA = VarTrainer.CreateOptimizer(a, 0.05);
        TrainStep(a, optA, 0);
        TrainStep(a, optA, 1);
        new RunCheckpoint(2, 8, 1.5, seed).Save(path, a, optA);

        manual_seed(2);
        using var b = VarTrainer.Build(config);
        b.train();
        using var optB = VarTrainer.CreateOptimizer(b, 0.05);
        var (ckpt, _) = RunCheckpoint.Load(path, b, optB);
        Assert.Equal(2, ckpt.Step);
        Assert.Equal(8, ckpt.SamplesSeen);
        Assert.Equal(optA.StepCount, optB.StepCount);

        var stateA = a.state_dict();
        foreach (var (key, value) in b.state_dict()) Assert.True(Same(value, stateA[key]), $"parameter {key} differs");
        var momentsA = optA.StateItems().ToDictionary(kv => kv.Key, kv => kv.Value);
        foreach (var (key, value) in optB.StateItems()) Assert.True(Same(value, momentsA[key]), $"optimizer state {key} differs");

        Assert.Equal(TrainStep(a, optA, 2), TrainStep(b, optB, 2));
        File.Delete(path);
    }

    [Fact]
    public void InterruptedAndResumedRunEndsWithTheSameWeights()
    {
        string data = TestData.WriteSynthetic(trainCount: 96, testCount: 20);
        string runs = Path.Combine(Path.GetTempPath(), "var-runs-" + Guid.NewGuid().ToString("N"));
        ClassifierTrainOptions Options(string name, bool resume) => new()
        {
            Name = name,
            RunsDirectory = runs,
            DataDirectory = data,
            Steps = 6,
            BatchSize = 16,
            WarmupSteps = 2,
            LogEvery = 1,
            Resume = resume,
            Config = ClassifierConfig.Judge with { Width = 4, FeatureDim = 8 },
        };
        ClassifierTrainer.Run(Options("straight", false), null, CancellationToken.None);

        using var cts = new CancellationTokenSource();
        var (paused, _) = ClassifierTrainer.Run(Options("interrupted", false), line =>
        {
            if (line.Contains("step 3/6")) cts.Cancel();
        }, cts.Token);
        Assert.Equal(3, paused.Step);
        Assert.False(paused.Finished);
        var (done, _) = ClassifierTrainer.Run(Options("interrupted", true), null, CancellationToken.None);
        Assert.True(done.Finished);
        Assert.Equal(6 * 16, done.SamplesSeen);

        using var straight = Var.Model.Checkpoints.StateDict.Read(Path.Combine(runs, "straight", "model.safetensors"));
        using var resumed = Var.Model.Checkpoints.StateDict.Read(Path.Combine(runs, "interrupted", "model.safetensors"));
        Assert.Equal(straight.Tensors.Keys.Order(), resumed.Tensors.Keys.Order());
        foreach (var (key, value) in straight.Tensors) Assert.True(Same(value, resumed.Tensors[key]), $"{key} differs after resume");
        Assert.Contains("resumed from", File.ReadAllText(Path.Combine(runs, "interrupted", "train.log")));
    }

    [Fact]
    public void VarRunInitialisedFromWeightsStartsFromThem()
    {
        string data = TestData.WriteSynthetic(trainCount: 64, testCount: 16);
        string runs = Path.Combine(Path.GetTempPath(), "var-runs-" + Guid.NewGuid().ToString("N"));
        string tokenizer = TestData.TrainTinyTokenizer(runs, data);
        VarTrainOptions Options(string name, long steps, string? init) => new()
        {
            Name = name,
            RunsDirectory = runs,
            DataDirectory = data,
            Steps = steps,
            BatchSize = 8,
            WarmupSteps = 1,
            EvalImages = 8,
            Depth = 1,
            Width = 32,
            Heads = 2,
            InitWeights = init,
            TokenizerWeights = tokenizer,
            TokenCacheDirectory = Path.Combine(runs, "tokens"),
        };
        VarTrainer.Run(Options("first", 2, null), null, CancellationToken.None);
        string first = Path.Combine(runs, "first", "model.safetensors");
        VarTrainer.Run(Options("warm", 0, first), null, CancellationToken.None);
        VarTrainer.Run(Options("cold", 0, null), null, CancellationToken.None);

        using var a = Var.Model.Checkpoints.StateDict.Read(first);
        using var warm = Var.Model.Checkpoints.StateDict.Read(Path.Combine(runs, "warm", "model.safetensors"));
        using var cold = Var.Model.Checkpoints.StateDict.Read(Path.Combine(runs, "cold", "model.safetensors"));
        foreach (var (key, value) in a.Tensors) Assert.True(Same(value, warm.Tensors[key]), $"{key} differs from the init weights");
        Assert.Contains(a.Tensors, kv => !Same(kv.Value, cold.Tensors[kv.Key]));
        Assert.Contains("initialised from", File.ReadAllText(Path.Combine(runs, "warm", "train.log")));
        Assert.Contains("initialised_from", File.ReadAllText(Path.Combine(runs, "warm", "summary.json")));
    }
}
