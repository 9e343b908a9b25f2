namespace Var.Deploy.Tests;

/// <summary>Paths in the repository and in this test's bin (which, like the image's /app, holds both programs).</summary>
public static class Repo
{
    /// <summary>The folder holding Var.sln.</summary>
    public static string Root { get; } = Find();

    /// <summary>A path under the repository root.</summary>
    public static string PathOf(params string[] parts) => Path.Combine([Root, .. parts]);

    /// <summary>
    /// A program in its own build output, same configuration as this test build: var.dll in src/Cli's bin,
    /// Var.Service.dll in src/Service's. (This test bin holds both too, but composed for an ASP.NET Core app: the var
    /// tool's gRPC client misses libraries there that its own bin, and the image's /app, have.)
    /// </summary>
    public static string Program(string dll)
    {
        var config = AppContext.BaseDirectory.Contains("/Debug/", StringComparison.Ordinal) ? "Debug" : "Release";
        var project = dll == "var.dll" ? "Cli" : "Service";
        return PathOf("src", project, "bin", config, "net10.0", "linux-x64", dll);
    }

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Var.sln"))) return dir.FullName;
        throw new InvalidOperationException("no Var.sln above " + AppContext.BaseDirectory);
    }
}
