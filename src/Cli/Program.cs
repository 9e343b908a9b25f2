using System.CommandLine;
using Var.Cli.Commands;

var root = new RootCommand("var — visual autoregressive (next-scale) image generation: VAR, CoDe, HMAR, TTS-VAR.")
{
    InfoCommand.Create(),
};
return await root.Parse(args).InvokeAsync();
