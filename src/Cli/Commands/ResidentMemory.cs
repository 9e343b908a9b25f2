using System.Runtime.InteropServices;

namespace Var.Cli.Commands;

/// <summary>
/// The process's resident-memory peak for the benches (Linux /proc): <see cref="ResetPeakMb"/> first hands the heap's
/// free pages back to the system, then restarts the peak, so that a later <see cref="PeakMb"/> counts what the code
/// in between allocated, not what an earlier configuration left cached in the allocator.
/// </summary>
internal static partial class ResidentMemory
{
    private static readonly Func<long>? HeapLive = HeapCounter("varpeak_live");
    private static readonly Func<long>? HeapPeak = HeapCounter("varpeak_peak");
    private static readonly Func<long>? HeapReset = HeapCounter("varpeak_reset");
    private static long heapAtReset;

    /// <summary>
    /// Whether the exact C-heap counter is in the process: libvarpeak.so (build/native/peakalloc.cpp, built beside
    /// var.dll) preloaded with <c>LD_PRELOAD</c>; it counts the bytes malloc hands out and gets back, so its peak is
    /// what the code held, not what glibc kept resident after a free.
    /// </summary>
    public static bool HeapCounterActive => HeapPeak is not null && HeapLive is not null && HeapReset is not null;

    /// <summary>The peak of the bytes live in the C heap since the last <see cref="ResetPeakMb"/>, above what was live then, MB; NaN without the counter.</summary>
    public static double HeapPeakExtraMb() => HeapCounterActive ? (HeapPeak!() - heapAtReset) / 1048576.0 : double.NaN;

    /// <summary>The peak resident size since the last reset (VmHWM), MB; NaN where /proc is missing.</summary>
    public static double PeakMb() => ReadStatusKb("VmHWM:") / 1024.0;

    /// <summary>The current resident size (VmRSS), MB; NaN where /proc is missing.</summary>
    public static double CurrentMb() => ReadStatusKb("VmRSS:") / 1024.0;

    /// <summary>
    /// Collects the managed heap, returns the native heap's free pages to the system (glibc <c>malloc_trim</c>: libtorch
    /// frees CPU tensors to malloc, which otherwise keeps them resident and hides the next configuration's peak), resets
    /// the peak resident size to the current one ("5" to /proc/self/clear_refs) and returns the current size, MB.
    /// </summary>
    public static double ResetPeakMb()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        TrimNativeHeap();
        if (HeapCounterActive) heapAtReset = HeapReset!();
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
        }
        catch (IOException)
        {
            // Older kernels: the peak then includes earlier configurations (reported as is).
        }
        catch (UnauthorizedAccessException)
        {
            // Same as above, where /proc is read-only.
        }
        return CurrentMb();
    }

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate long NativeCounter();

    private static Func<long>? HeapCounter(string name)
    {
        if (!OperatingSystem.IsLinux()) return null;
        if (!NativeLibrary.TryGetExport(NativeLibrary.GetMainProgramHandle(), name, out var address)) return null;
        var f = Marshal.GetDelegateForFunctionPointer<NativeCounter>(address);
        return () => f();
    }

    private static void TrimNativeHeap()
    {
        if (!OperatingSystem.IsLinux()) return;
        try
        {
            _ = MallocTrim(0);
        }
        catch (EntryPointNotFoundException)
        {
            // A C library without malloc_trim (musl): freed pages stay resident, as before.
        }
        catch (DllNotFoundException)
        {
        }
    }

    private static double ReadStatusKb(string key)
    {
        if (!File.Exists("/proc/self/status")) return double.NaN;
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(key, StringComparison.Ordinal)) return double.Parse(line[key.Length..].Trim().Split(' ')[0]);
        return double.NaN;
    }

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);
}
