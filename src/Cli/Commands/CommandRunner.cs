using Var.Model.Checkpoints;

namespace Var.Cli.Commands;

/// <summary>Runs a command body and turns expected failures into one clear line on stderr and exit code 2.</summary>
internal static class CommandRunner
{
    public static int Run(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (e is CheckpointException or ArgumentException or FileNotFoundException or DirectoryNotFoundException or InvalidOperationException or IOException or NotSupportedException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("cancelled");
            return 130;
        }
    }
}
