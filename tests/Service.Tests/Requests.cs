namespace Var.Service.Tests;

/// <summary>Request builders shared by the tests.</summary>
internal static class Requests
{
    /// <summary>One image of class <paramref name="classId"/> at <paramref name="seed"/>.</summary>
    public static GenerateRequest One(int classId, long seed, int count = 1) => new() { ClassId = classId, Seed = seed, Count = count };
}
