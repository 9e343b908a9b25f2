using System.Runtime.InteropServices;

namespace Var.Cli.Batch;

/// <summary>
/// Makes the renames in a folder durable: fsync of the folder itself, so that after a power loss a manifest line never
/// names a file whose rename was lost (a file's own fsync covers its bytes, not its directory entry). POSIX only; on
/// other systems renames are left to the file system's journal.
/// </summary>
internal static partial class DirectorySync
{
    private const int ReadOnly = 0;

    /// <summary>Syncs the directory entry table of <paramref name="folder"/>; throws <see cref="IOException"/> on failure.</summary>
    public static void Sync(string folder)
    {
        if (OperatingSystem.IsWindows()) return;
        int fd = Open(folder, ReadOnly);
        if (fd < 0) throw new IOException($"cannot open {folder} to sync it (errno {Marshal.GetLastPInvokeError()})");
        try
        {
            if (Fsync(fd) != 0) throw new IOException($"fsync of {folder} failed (errno {Marshal.GetLastPInvokeError()})");
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
