using System.Runtime.InteropServices;

namespace Var.Cli.Tests;

/// <summary>The benches' resident-memory peak (Linux /proc): a reset starts it afresh, and what is allocated after it counts.</summary>
public sealed class ResidentMemoryTests
{
    private const int Megabytes = 64;

    [Fact]
    public unsafe void PeakAfterAResetCountsWhatWasAllocatedSinceAndNothingEarlier()
    {
        double before = ResidentMemory.ResetPeakMb();
        nuint bytes = (nuint)Megabytes << 20;
        byte* block = (byte*)NativeMemory.Alloc(bytes);
        try
        {
            // Touch every page so that it becomes resident.
            NativeMemory.Fill(block, bytes, 1);
            double grown = ResidentMemory.PeakMb() - before;
            Assert.True(grown >= 0.9 * Megabytes, $"a {Megabytes} MB block raised the peak by {grown:F1} MB");
        }
        finally
        {
            NativeMemory.Free(block);
        }
        double again = ResidentMemory.ResetPeakMb();
        double carried = ResidentMemory.PeakMb() - again;
        Assert.True(carried < 0.25 * Megabytes, $"the freed block still counts {carried:F1} MB after a reset");
        Assert.True(again < before + 0.25 * Megabytes, $"resident {again:F1} MB after the free vs {before:F1} MB before the block");
    }
}
