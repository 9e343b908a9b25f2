global using Var.Cli.Batch;
global using Var.Cli.Commands;
