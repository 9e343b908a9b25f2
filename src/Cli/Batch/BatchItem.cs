namespace Var.Cli.Batch;

/// <summary>One image of a batch: its job, its seed, its class and the file it becomes.</summary>
internal sealed record BatchItem(BatchJob Job, int Index, long Seed, int ClassId, string ClassName, string File);
