using System.CommandLine;

namespace Var.Cli.Commands;

/// <summary><c>var info</c>: prints the configuration detected from checkpoint files.</summary>
internal static class InfoCommand
{
    public static Command Create()
    {
        var cmd = new Command("info", "Print the configuration detected from a VQVAE and/or VAR checkpoint.");
        cmd.SetAction(_ => 0);
        return cmd;
    }
}
