// Compiled into every project that sets <UsesTorch>true</UsesTorch> (see Directory.Build.targets).
// Loads libstdcxx_compat.so with RTLD_GLOBAL before TorchSharp's native library, so that the
// std::ios_base_library_init symbol weakened by fix-libtorchsharp.sh resolves (toolchain.md §1.1).
// NativeLibrary.Load is not enough: it uses RTLD_LOCAL, which hides the symbol from later loads.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Var.Build;

internal static partial class TorchCompat
{
    private const int RtldNow = 0x2;
    private const int RtldGlobal = 0x100;

    [LibraryImport("libc.so.6", EntryPoint = "dlopen", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr DlOpen(string fileName, int flags);

#pragma warning disable CA2255 // this is exactly the advanced scenario: it must run before any TorchSharp type loads
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void LoadShim()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        string shim = Path.Combine(AppContext.BaseDirectory, "libstdcxx_compat.so");
        if (File.Exists(shim))
        {
            DlOpen(shim, RtldNow | RtldGlobal);
        }
    }
}
