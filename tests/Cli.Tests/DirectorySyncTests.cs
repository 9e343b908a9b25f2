using Var.Cli.Batch;

namespace Var.Cli.Tests;

/// <summary>The folder sync behind durable renames: it works on a folder and fails loudly on a missing one.</summary>
public sealed class DirectorySyncTests : IDisposable
{
    private readonly BatchFolder folder = new();

    [Fact]
    public void SyncsAnExistingFolderAndRefusesAMissingOne()
    {
        DirectorySync.Sync(folder.Root);
        var missing = folder.PathOf("missing");
        var e = Assert.Throws<IOException>(() => DirectorySync.Sync(missing));
        Assert.Contains(missing, e.Message);
    }

    /// <inheritdoc />
    public void Dispose() => folder.Dispose();
}
