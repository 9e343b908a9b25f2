using System.CommandLine;
using Var.Cli.Commands;

var root = new RootCommand("var — visual autoregressive (next-scale) image generation with VAR. Run 'var <command> --help' for details.")
{
    GenerateCommand.Create(),
    EditCommand.Create(),
    BatchCommand.Create(),
    HealthCommand.Create(),
    ReconstructCommand.Create(),
    ScoreCommand.Create(),
    InfoCommand.Create(),
    BenchCommand.Create(),
    EvalCommand.Create(),
    TrainCommands.Create(),
};
return await root.Parse(args).InvokeAsync();
