namespace Var.Training.Runs;

/// <summary>
/// Per-step seeding: every random draw of step s (class dropout, drop path, code restarts) comes from torch's global
/// generator seeded with Mix(seed, s), so a resumed run repeats exactly what an uninterrupted one would do.
/// </summary>
public static class StepSeed
{
    /// <summary>A well-mixed non-negative 32-bit seed from a run seed, a counter and a salt (SplitMix64 finaliser).</summary>
    public static int Mix(int seed, long counter, long salt)
    {
        ulong z = (ulong)seed * 0x9E3779B97F4A7C15UL ^ (ulong)counter * 0xBF58476D1CE4E5B9UL ^ (ulong)salt * 0x94D049BB133111EBUL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (int)(z & 0x7fffffff);
    }

    /// <summary>Seeds torch's global generator for step <paramref name="step"/> of a run.</summary>
    public static void Apply(int seed, long step) => manual_seed(Mix(seed, step, 0x57e9));
}
