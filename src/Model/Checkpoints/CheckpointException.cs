namespace Var.Model.Checkpoints;

/// <summary>A checkpoint could not be read or does not match the model: the message names the file and the first problem.</summary>
public sealed class CheckpointException : Exception
{
    /// <summary>Creates the error for <paramref name="file"/>.</summary>
    public CheckpointException(string file, string problem, Exception? inner = null)
        : base($"{file}: {problem}", inner)
    {
        File = file;
        Problem = problem;
    }

    /// <summary>The offending file.</summary>
    public string File { get; }

    /// <summary>What is wrong with it.</summary>
    public string Problem { get; }
}
