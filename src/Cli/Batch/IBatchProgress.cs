namespace Var.Cli.Batch;

/// <summary>Where a batch reports the images it has written (a progress bar, or plain lines).</summary>
internal interface IBatchProgress
{
    /// <summary><paramref name="images"/> more images are written.</summary>
    void Advance(int images);
}
