namespace Var.Training.Runs;

/// <summary>Options every trainer shares: where the run lives, how long it runs, and its optimiser basics.</summary>
public abstract record RunOptions
{
    /// <summary>Run name; checkpoints and logs go to <c>{RunsDirectory}/{Name}/</c>.</summary>
    public string Name { get; init; } = "run";

    /// <summary>Parent folder of run folders.</summary>
    public string RunsDirectory { get; init; } = "runs";

    /// <summary>Fashion-MNIST folder (null = default / VAR_FMNIST_DIR).</summary>
    public string? DataDirectory { get; init; }

    /// <summary>Total optimiser steps; the learning-rate schedule is defined over them.</summary>
    public long Steps { get; init; } = 1000;

    /// <summary>Wall-clock budget of this invocation in minutes (0 = none); the run checkpoints and stops when it is spent.</summary>
    public double Minutes { get; init; }

    /// <summary>Seed of initialisation, data order and every per-step random draw.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Continue from <c>checkpoint.safetensors</c> in the run folder when it exists.</summary>
    public bool Resume { get; init; }

    /// <summary>Intra-op threads for torch (0 = leave as is).</summary>
    public int Threads { get; init; }

    /// <summary>Batch size.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Peak learning rate.</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>Linear warm-up steps.</summary>
    public long WarmupSteps { get; init; } = 100;

    /// <summary>Fraction of <see cref="Steps"/> after which the learning rate decays linearly.</summary>
    public double DecayStart { get; init; } = 0.6;

    /// <summary>Final learning rate as a fraction of the peak.</summary>
    public double FinalLrFraction { get; init; } = 0.05;

    /// <summary>Steps between progress lines.</summary>
    public int LogEvery { get; init; } = 25;

    /// <summary>Steps between evaluations (0 = only at the end).</summary>
    public int EvalEvery { get; init; }

    /// <summary>Minutes between checkpoints.</summary>
    public double CheckpointMinutes { get; init; } = 5;

    /// <summary>The command line that started the run, recorded as provenance.</summary>
    public string Command { get; init; } = "";

    /// <summary>The run folder.</summary>
    public string RunDirectory => Path.Combine(RunsDirectory, Name);

    /// <summary>The resumable checkpoint (model + optimiser + step).</summary>
    public string CheckpointPath => Path.Combine(RunDirectory, "checkpoint.safetensors");

    /// <summary>The model-only weights written at every checkpoint and at the end.</summary>
    public string WeightsPath => Path.Combine(RunDirectory, "model.safetensors");

    /// <summary>The run summary (configuration, provenance, quality) written with the weights.</summary>
    public string SummaryPath => Path.Combine(RunDirectory, "summary.json");

    /// <summary>The log file.</summary>
    public string LogPath => Path.Combine(RunDirectory, "train.log");
}
