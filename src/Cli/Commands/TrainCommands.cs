using Var.Model.Classifiers;
using System.CommandLine;
using Var.Training.Classifiers;
using Var.Training.Generator;
using Var.Training.Runs;
using Var.Training.Shipping;
using Var.Training.Subject;
using Var.Training.Tokenizer;
using Var.Cli.Subject;

namespace Var.Cli.Commands;

/// <summary>
/// The <c>train</c> command tree: <c>train tokenizer | var | hmar | classifier | publish | subject</c>. Every trainer resumes with
/// <c>--resume</c> from <c>{runs}/{name}/checkpoint.safetensors</c> and logs to stdout and <c>{runs}/{name}/train.log</c>.
/// </summary>
internal static class TrainCommands
{
    /// <summary>Builds the <c>train</c> command.</summary>
    public static Command Create()
    {
        var train = new Command("train", "Train the Fashion-MNIST models with this project's code (resumable runs under runs/)");
        train.Subcommands.Add(TokenizerCommand());
        train.Subcommands.Add(VarCommand());
        train.Subcommands.Add(HmarCommand());
        train.Subcommands.Add(ClassifierCommand());
        train.Subcommands.Add(PublishCommand());
        train.Subcommands.Add(SubjectCommand());
        return train;
    }

    private sealed class CommonOptions(string nameOption = "--name")
    {
        public Option<string?> Name { get; } = new(nameOption) { Description = "Run name (folder under --runs)" };
        public Option<string> Runs { get; } = new("--runs") { Description = "Folder of run folders", DefaultValueFactory = _ => "runs" };
        public Option<string?> Data { get; } = new("--data") { Description = "Fashion-MNIST folder (default /usr/share/datasets/fashion-mnist)" };
        public Option<long?> Steps { get; } = new("--steps") { Description = "Total optimiser steps (defines the learning-rate schedule)" };
        public Option<double> Minutes { get; } = new("--minutes") { Description = "Stop (with a checkpoint) after this many minutes; 0 = no limit" };
        public Option<int> Seed { get; } = new("--seed") { Description = "Seed", DefaultValueFactory = _ => 1 };
        public Option<bool> Resume { get; } = new("--resume") { Description = "Continue from the run's last checkpoint" };
        public Option<int> Threads { get; } = new("--threads") { Description = "Torch intra-op threads (0 = default)" };
        public Option<int?> BatchSize { get; } = new("--batch-size") { Description = "Batch size" };
        public Option<double?> Lr { get; } = new("--lr") { Description = "Peak learning rate" };

        public void AddTo(Command c)
        {
            foreach (Option o in new Option[] { Name, Runs, Data, Steps, Minutes, Seed, Resume, Threads, BatchSize, Lr }) c.Options.Add(o);
        }

        public T Apply<T>(T o, ParseResult r) where T : RunOptions => o with
        {
            Name = r.GetValue(Name) ?? o.Name,
            RunsDirectory = r.GetValue(Runs) ?? o.RunsDirectory,
            DataDirectory = r.GetValue(Data),
            Steps = r.GetValue(Steps) ?? o.Steps,
            Minutes = r.GetValue(Minutes),
            Seed = r.GetValue(Seed),
            Resume = r.GetValue(Resume),
            Threads = r.GetValue(Threads),
            BatchSize = r.GetValue(BatchSize) ?? o.BatchSize,
            LearningRate = r.GetValue(Lr) ?? o.LearningRate,
            Command = "var " + string.Join(" ", Environment.GetCommandLineArgs().Skip(1)),
        };
    }

    private static Command TokenizerCommand()
    {
        var common = new CommonOptions();
        var c = new Command("tokenizer", "Train the multi-scale VQVAE (MSE + 0.2·L1 + VQ loss, dead-code restarts)");
        common.AddTo(c);
        c.SetAction((r, cancel) =>
        {
            var (_, q) = TokenizerTrainer.Run(common.Apply(new TokenizerTrainOptions(), r), Console.WriteLine, cancel);
            return Task.FromResult(q is null ? 1 : 0);
        });
        return c;
    }

    private static Command VarCommand()
    {
        var common = new CommonOptions();
        var depth = new Option<int>("--depth") { Description = "Transformer blocks", DefaultValueFactory = _ => 4 };
        var width = new Option<int>("--width") { Description = "Width C", DefaultValueFactory = _ => 128 };
        var heads = new Option<int>("--heads") { Description = "Attention heads", DefaultValueFactory = _ => 2 };
        var tokenizer = new Option<string>("--tokenizer") { Description = "Tokenizer weights (summary.json beside them gives the config)", DefaultValueFactory = _ => "runs/tokenizer/model.safetensors" };
        var init = new Option<string?>("--init") { Description = "Start a new run from these weights (same architecture; fresh optimiser and schedule) instead of a random init" };
        var teacher = new Option<string?>("--teacher") { Description = "Refiner specialisation (CoDe): a model folder whose 'var' transformer is the frozen teacher; the loss becomes KL(teacher || student), or with --distill-alpha a mix of KL and cross-entropy, on the scales from --distill-from on" };
        var distillFrom = new Option<int>("--distill-from") { Description = "With --teacher: the first distilled scale, the CoDe hand-over N", DefaultValueFactory = _ => 4 };
        var distillAlpha = new Option<double>("--distill-alpha") { Description = "With --teacher: the loss on the distilled scales is A·KL(teacher || student) + (1−A)·cross-entropy against the ground-truth tokens, A in [0, 1] (1 = pure imitation)", DefaultValueFactory = _ => 1.0 };
        var ema = new Option<double>("--ema") { Description = "Decay of an exponential moving average of the weights, e.g. 0.999 (0 = none); with one the run evaluates and exports the average" };
        var c = new Command("var", "Teacher-forced next-scale training of a VAR transformer on cached tokens (or, with --teacher, a CoDe refiner distilled on the fine scales)");
        c.Options.Add(init);
        c.Options.Add(teacher);
        c.Options.Add(distillFrom);
        c.Options.Add(distillAlpha);
        c.Options.Add(ema);
        common.AddTo(c);
        c.Options.Add(depth);
        c.Options.Add(width);
        c.Options.Add(heads);
        c.Options.Add(tokenizer);
        c.SetAction((r, cancel) =>
        {
            var o = common.Apply(new VarTrainOptions(), r) with
            {
                Depth = r.GetValue(depth),
                Width = r.GetValue(width),
                Heads = r.GetValue(heads),
                TokenizerWeights = r.GetValue(tokenizer)!,
                InitWeights = r.GetValue(init),
                TeacherModel = r.GetValue(teacher),
                DistillFromScale = r.GetValue(distillFrom),
                DistillAlpha = r.GetValue(distillAlpha),
                EmaDecay = r.GetValue(ema),
            };
            o = o with { TokenCacheDirectory = Path.Combine(o.RunsDirectory, "tokens") };
            VarTrainer.Run(o, Console.WriteLine, cancel);
            return Task.FromResult(0);
        });
        return c;
    }

    private static Command HmarCommand()
    {
        var common = new CommonOptions();
        var defaults = new HmarTrainOptions();
        var depth = new Option<int>("--depth") { Description = "Blocks of the backbone (trunk + one tail)", DefaultValueFactory = _ => defaults.Depth };
        var tail = new Option<int>("--tail-depth") { Description = "Blocks of each tail (next-scale and masked)", DefaultValueFactory = _ => defaults.TailDepth };
        var width = new Option<int>("--width") { Description = "Width C", DefaultValueFactory = _ => defaults.Width };
        var heads = new Option<int>("--heads") { Description = "Attention heads", DefaultValueFactory = _ => defaults.Heads };
        var tokenizer = new Option<string>("--tokenizer") { Description = "Tokenizer weights (summary.json beside them gives the config)", DefaultValueFactory = _ => "runs/tokenizer/model.safetensors" };
        var init = new Option<string?>("--init") { Description = "Start a new run from these weights: an HMAR file of the same architecture, or a VAR file of the same depth and width (its blocks become the trunk and both tails, its head both heads)" };
        var maskSteps = new Option<long?>("--mask-steps") { Description = $"Masked-prediction fine-tune steps after the --steps next-scale steps (default {defaults.MaskSteps}; 0 = none)" };
        var maskLr = new Option<double?>("--mask-lr") { Description = "Peak learning rate of the masked phase (default --lr)" };
        var evalEvery = new Option<int?>("--eval-every") { Description = $"Steps between test cross-entropy evaluations in each phase (default {defaults.EvalEvery}; 0 = only at the end of each phase)" };
        var evalImages = new Option<int?>("--eval-images") { Description = $"Test images of those evaluations (default {defaults.EvalImages})" };
        var ema = new Option<double>("--ema") { Description = "Decay of an exponential moving average of the weights in each phase, e.g. 0.999 (0 = none); with one each phase evaluates and exports the average and the masked phase starts from the averaged next-scale weights" };
        var c = new Command("hmar", "Two-phase HMAR training on cached tokens: next-scale with block-diagonal attention and log-normal scale weights, then masked prediction of the masked tail and head with the trunk frozen");
        common.AddTo(c);
        foreach (Option o in new Option[] { depth, tail, width, heads, tokenizer, init, maskSteps, maskLr, evalEvery, evalImages, ema }) c.Options.Add(o);
        c.SetAction((r, cancel) =>
        {
            var o = common.Apply(defaults, r) with
            {
                Depth = r.GetValue(depth),
                TailDepth = r.GetValue(tail),
                Width = r.GetValue(width),
                Heads = r.GetValue(heads),
                TokenizerWeights = r.GetValue(tokenizer)!,
                InitWeights = r.GetValue(init),
                MaskSteps = r.GetValue(maskSteps) ?? defaults.MaskSteps,
                MaskLearningRate = r.GetValue(maskLr),
                EvalEvery = r.GetValue(evalEvery) ?? defaults.EvalEvery,
                EvalImages = r.GetValue(evalImages) ?? defaults.EvalImages,
                EmaDecay = r.GetValue(ema),
            };
            o = o with { TokenCacheDirectory = Path.Combine(o.RunsDirectory, "tokens") };
            HmarTrainer.Run(o, Console.WriteLine, cancel);
            return Task.FromResult(0);
        });
        return c;
    }

    private static Command ClassifierCommand()
    {
        var common = new CommonOptions();
        var arch = new Option<string>("--arch") { Description = "reward, judge or judge2 (the second judge of var eval: an MLP, another kind of feature space)", DefaultValueFactory = _ => "reward" };
        arch.AcceptOnlyFromAmong("reward", "judge", "judge2");
        var maxShift = new Option<int?>("--max-shift") { Description = "Largest random shift (pixels, black fill) of the training augmentation; 0 = none (default 2)" };
        var c = new Command("classifier", "Train the reward/feature classifier or an independent judge");
        common.AddTo(c);
        c.Options.Add(arch);
        c.Options.Add(maxShift);
        c.SetAction((r, cancel) =>
        {
            string role = r.GetValue(arch)!;
            var o = common.Apply(new ClassifierTrainOptions { Name = role }, r);
            o = o with
            {
                Config = role switch { "judge" => ClassifierConfig.Judge, "judge2" => ClassifierConfig.Judge2, _ => ClassifierConfig.Reward },
                MaxShift = r.GetValue(maxShift) ?? o.MaxShift,
            };
            ClassifierTrainer.Run(o, Console.WriteLine, cancel);
            return Task.FromResult(0);
        });
        return c;
    }

    private static Command SubjectCommand()
    {
        var common = new CommonOptions("--run");
        var model = new Option<string>("--model") { Description = "Base model (name under weights/ or folder)", DefaultValueFactory = _ => "fmnist" };
        var images = new Option<string>("--images") { Description = $"Folder of {SubjectTeach.MinImages}-{SubjectTeach.MaxImages} PNG/JPEG pictures of the subject (any size: shorter side resized, centre cropped; made grey for a grey model)", Required = true };
        var className = new Option<string>("--name") { Description = "Name of the new class (must not name an existing class)", Required = true };
        var output = new Option<string>("--out") { Description = "Model folder to write (e.g. weights/NAME or runs/NAME/model)", Required = true };
        var flags = new SubjectFlags();
        var c = new Command("subject", "Teach a model a new class from a few images: fine-tunes selected layers with a scale-wise weighted cross-entropy and prior distillation, writes a model folder with the class added");
        foreach (Option o in new Option[] { model, images, className, output }) c.Options.Add(o);
        flags.AddTo(c);
        common.AddTo(c);
        c.SetAction((r, cancel) => Task.FromResult(CommandRunner.Run(() =>
        {
            string name = r.GetValue(className)!;
            var o = flags.Apply(common.Apply(new SubjectTrainOptions(), r), r) with { ClassName = name };
            if (r.GetValue(common.Name) is null) o = o with { Name = "subject-" + string.Concat(name.Trim().Select(ch => char.IsLetterOrDigit(ch) ? ch : '-')) };
            SubjectTeach.Run(o, r.GetValue(model)!, r.GetValue(images)!, r.GetValue(output)!, flags.PriorPerClass(r), Console.WriteLine, cancel);
            return 0;
        })));
        return c;
    }

    private static Command PublishCommand()
    {
        var runs = new Option<string>("--runs") { Description = "Folder of run folders", DefaultValueFactory = _ => "runs" };
        var output = new Option<string>("--out") { Description = "Model folder to write", DefaultValueFactory = _ => "weights/fmnist" };
        var tokenizerRun = new Option<string>("--tokenizer-run") { Description = "Run of the tokenizer", DefaultValueFactory = _ => "tokenizer" };
        var varRun = new Option<string>("--var-run") { Description = "Run of the large VAR (stored as bfloat16)", DefaultValueFactory = _ => "var-large" };
        var refinerRun = new Option<string>("--refiner-run") { Description = "Run of the small refiner VAR", DefaultValueFactory = _ => "var-small" };
        var rewardRun = new Option<string>("--reward-run") { Description = "Run of the reward classifier", DefaultValueFactory = _ => "reward" };
        var judgeRun = new Option<string>("--judge-run") { Description = "Run of the judge classifier", DefaultValueFactory = _ => "judge" };
        var judge2Run = new Option<string>("--judge2-run") { Description = "Run of the second judge (train classifier --arch judge2; the component 'judge2')", DefaultValueFactory = _ => "judge2" };
        var hmarRun = new Option<string>("--hmar-run") { Description = "Run of the HMAR transformer (train hmar; stored as bfloat16, the component 'hmar')", DefaultValueFactory = _ => "hmar" };
        var extra = new Option<string[]>("--extra") { Description = "More components as ROLE=RUN (repeatable), e.g. refiner-n3=refiner-ce3 for a specialised CoDe refiner", AllowMultipleArgumentsPerToken = true };
        var c = new Command("publish", "Copy the runs' weights into a model folder and write model.json (runs without weights are skipped; components already there are kept)");
        foreach (Option o in new Option[] { runs, output, tokenizerRun, varRun, refinerRun, rewardRun, judgeRun, judge2Run, hmarRun, extra }) c.Options.Add(o);
        c.SetAction(r =>
        {
            string dir = r.GetValue(runs)!;
            WeightsPublisher.Publish(r.GetValue(output)!, "fmnist",
            [
                new PublishedComponent("vqvae", Path.Combine(dir, r.GetValue(tokenizerRun)!)),
                new PublishedComponent("var", Path.Combine(dir, r.GetValue(varRun)!), StoreBf16: true),
                new PublishedComponent("refiner", Path.Combine(dir, r.GetValue(refinerRun)!)),
                new PublishedComponent("reward", Path.Combine(dir, r.GetValue(rewardRun)!)),
                new PublishedComponent("judge", Path.Combine(dir, r.GetValue(judgeRun)!)),
                new PublishedComponent("judge2", Path.Combine(dir, r.GetValue(judge2Run)!)),
                new PublishedComponent("hmar", Path.Combine(dir, r.GetValue(hmarRun)!), StoreBf16: true),
                .. (r.GetValue(extra) ?? []).Select(e => e.Split('=', 2) is [var role, var run] && role.Length > 0 && run.Length > 0
                    ? new PublishedComponent(role, Path.Combine(dir, run))
                    : throw new ArgumentException($"--extra '{e}' is not ROLE=RUN")),
            ], Console.WriteLine);
            return 0;
        });
        return c;
    }
}
