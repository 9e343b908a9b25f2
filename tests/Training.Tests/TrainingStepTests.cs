using Var.Model.Vqvae;
using Var.Training.Generator;
using Var.Training.Optimization;
using Var.Training.Tokenizer;

namespace Var.Training.Tests;

public class TrainingStepTests
{
    internal static readonly VqvaeConfig TinyVqvae = TokenizerTrainOptions.SmallConfig with { Ch = 8, VocabSize = 32, ZChannels = 4 };

    [Fact]
    public void TokenizerStepsLowerTheLossOnAFixedBatch()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        var vae = TokenizerTrainer.Build(TinyVqvae);
        vae.train();
        using var optimizer = new NamedAdamW(vae.named_parameters(), (_, _) => false);
        var images = rand(8, 1, 32, 32).mul(2).sub(1).expand(8, 3, 32, 32).contiguous();
        var options = new TokenizerTrainOptions { Config = TinyVqvae };
        double first = 0, last = 0;
        for (int i = 0; i < 8; i++)
        {
            using var step = NewDisposeScope();
            optimizer.ZeroGrad();
            var loss = TokenizerTrainer.Loss(vae, images, options, out _);
            loss.backward();
            optimizer.Step(3e-3);
            if (i == 0) first = loss.item<float>();
            last = loss.item<float>();
        }
        Assert.True(last < 0.9 * first, $"loss {first} → {last}");
    }

    [Fact]
    public void VarStepsLowerTheLossOnAFixedBatch()
    {
        using var scope = NewDisposeScope();
        manual_seed(4);
        var vae = TokenizerTrainer.Build(TinyVqvae);
        vae.eval();
        var config = new VarTrainOptions { Depth = 1, Width = 32, Heads = 2 }.ConfigFor(TinyVqvae.VocabSize, TinyVqvae.ZChannels, TinyVqvae.PatchNums);
        var model = VarTrainer.Build(config);
        model.train();
        using var optimizer = VarTrainer.CreateOptimizer(model, 0.05);
        var tokens = randint(0, TinyVqvae.VocabSize, [4, TinyVqvae.TotalTokens], dtype: ScalarType.Int64);
        var labels = tensor(new long[] { 0, 1, 2, 3 });
        double first = 0, last = 0;
        for (int i = 0; i < 10; i++)
        {
            using var step = NewDisposeScope();
            optimizer.ZeroGrad();
            var loss = VarTrainer.Loss(model, vae, tokens, labels, 0, out var logits);
            Assert.Equal(new long[] { 4, TinyVqvae.TotalTokens, TinyVqvae.VocabSize }, logits.shape);
            loss.backward();
            nn.utils.clip_grad_norm_(optimizer.Parameters, 2.0);
            optimizer.Step(1e-2);
            if (i == 0) first = loss.item<float>();
            last = loss.item<float>();
        }
        Assert.InRange(first, Math.Log(TinyVqvae.VocabSize) - 0.5, Math.Log(TinyVqvae.VocabSize) + 0.5);
        Assert.True(last < first - 0.1, $"loss {first} → {last}");
    }

    [Fact]
    public void DistillationStepsPullTheRefinerTowardsTheTeacherOnTheFineScalesOnly()
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        var vae = TokenizerTrainer.Build(TinyVqvae);
        vae.eval();
        var teacherConfig = new VarTrainOptions { Depth = 2, Width = 64, Heads = 2 }.ConfigFor(TinyVqvae.VocabSize, TinyVqvae.ZChannels, TinyVqvae.PatchNums);
        var teacher = VarTrainer.Build(teacherConfig);
        // A confident teacher, so that the student has something to learn.
        teacher.InitWeights(0.2, 0.5, 1.0, 3.0);
        teacher.eval();
        var student = VarTrainer.Build(new VarTrainOptions { Depth = 1, Width = 32, Heads = 2 }.ConfigFor(TinyVqvae.VocabSize, TinyVqvae.ZChannels, TinyVqvae.PatchNums));
        student.train();
        using var optimizer = VarTrainer.CreateOptimizer(student, 0.05);
        var tokens = randint(0, TinyVqvae.VocabSize, [4, TinyVqvae.TotalTokens], dtype: ScalarType.Int64);
        var labels = tensor(new long[] { 0, 1, 2, 3 });
        int fromScale = 3;
        Assert.True(VarTrainer.DistillLoss(teacher, teacher, vae, tokens, labels, 0, fromScale).item<float>() < 1e-5, "a model distilled from itself has no loss");
        double first = 0, last = 0;
        for (int i = 0; i < 12; i++)
        {
            using var step = NewDisposeScope();
            optimizer.ZeroGrad();
            var loss = VarTrainer.DistillLoss(student, teacher, vae, tokens, labels, 0, fromScale);
            loss.backward();
            optimizer.Step(1e-2);
            if (i == 0) first = loss.item<float>();
            last = loss.item<float>();
        }
        Assert.True(first > 0.05, $"the student starts far from the teacher: KL {first}");
        Assert.True(last < 0.8 * first, $"KL {first} → {last}");
        Assert.All(teacher.parameters(), p => Assert.Null(p.grad));
    }

    [Fact]
    public void DistillAlphaMixesTeacherKlWithGroundTruthCrossEntropyOnTheRefinersScales()
    {
        using var scope = NewDisposeScope();
        manual_seed(6);
        var vae = TokenizerTrainer.Build(TinyVqvae);
        vae.eval();
        var teacher = VarTrainer.Build(new VarTrainOptions { Depth = 2, Width = 64, Heads = 2 }.ConfigFor(TinyVqvae.VocabSize, TinyVqvae.ZChannels, TinyVqvae.PatchNums));
        teacher.InitWeights(0.2, 0.5, 1.0, 3.0);
        teacher.eval();
        var student = VarTrainer.Build(new VarTrainOptions { Depth = 1, Width = 32, Heads = 2 }.ConfigFor(TinyVqvae.VocabSize, TinyVqvae.ZChannels, TinyVqvae.PatchNums));
        // Eval mode: no drop path, so every call sees the same student.
        student.eval();
        var tokens = randint(0, TinyVqvae.VocabSize, [4, TinyVqvae.TotalTokens], dtype: ScalarType.Int64);
        var labels = tensor(new long[] { 0, 1, 2, 3 });
        int fromScale = 3, begin = student.ScaleRanges[fromScale].Begin, l = TinyVqvae.TotalTokens - begin;

        VarTrainer.Loss(student, vae, tokens, labels, 0, out var studentLogits);
        VarTrainer.Loss(teacher, vae, tokens, labels, 0, out var teacherLogits);
        var studentLogp = studentLogits.narrow(1, begin, l).log_softmax(-1);
        var teacherLogp = teacherLogits.narrow(1, begin, l).log_softmax(-1);
        double ce = nn.functional.cross_entropy(studentLogits.narrow(1, begin, l).reshape(-1, TinyVqvae.VocabSize), tokens.narrow(1, begin, l).reshape(-1)).item<float>();
        double kl = (teacherLogp.exp() * (teacherLogp - studentLogp)).sum(-1).mean().item<float>();

        double Mixed(double alpha) => VarTrainer.DistillLoss(student, teacher, vae, tokens, labels, 0, fromScale, alpha).item<float>();
        Assert.Equal(kl, VarTrainer.DistillLoss(student, teacher, vae, tokens, labels, 0, fromScale).item<float>(), 4);
        Assert.Equal(kl, Mixed(1), 4);
        Assert.Equal(ce, Mixed(0), 4);
        Assert.Equal(0.5 * kl + 0.5 * ce, Mixed(0.5), 4);
        Assert.True(Math.Abs(kl - ce) > 0.1, $"KL {kl} and CE {ce} must differ for the mix to be tested");
        Assert.Throws<ArgumentOutOfRangeException>(() => Mixed(1.5));
    }

    [Fact]
    public void WeightDecaySkipsVectorsAndPositionEmbeddings()
    {
        var config = new VarTrainOptions { Depth = 1, Width = 32, Heads = 2 }.ConfigFor(32, 4, [1, 2]);
        using var model = VarTrainer.Build(config);
        using var optimizer = VarTrainer.CreateOptimizer(model, 0.05);
        var decayed = optimizer.DecayedNames.ToHashSet();
        Assert.Contains("head.weight", decayed);
        Assert.Contains("word_embed.weight", decayed);
        Assert.DoesNotContain(decayed, n => n.Contains("pos_1LC") || n.Contains("pos_start") || n.Contains("lvl_embed") || n.Contains("scale_mul") || n.EndsWith("bias"));
    }
}
