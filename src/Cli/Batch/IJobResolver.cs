namespace Var.Cli.Batch;

/// <summary>
/// Checks a job against the models that will run it (the local engine's or a server's) before any work starts, and
/// resolves its class. Throws <see cref="ArgumentException"/>, <see cref="FileNotFoundException"/> or
/// <see cref="NotSupportedException"/> with a message that names the bad field.
/// </summary>
internal interface IJobResolver
{
    /// <summary>The job's class id and display name (the unconditional class for an edit without one).</summary>
    (int ClassId, string ClassName) Resolve(BatchJob job);
}
