using k8s.Models;
using Var.Service.Options;

namespace Var.Deploy.Tests;

/// <summary>
/// The Dockerfile's build and run stages, read as BuildKit reads them: the .NET SDK and ASP.NET base images, the CUDA
/// build argument, a non-root user, the ports the service and the manifests use, a HEALTHCHECK through the gRPC
/// health service, the shipped weights inside. Built for real only where a container engine and the base images are
/// at hand (none here: no Docker daemon, and the registry of the base images is out of reach).
/// </summary>
public sealed class DockerfileTests
{
    private static readonly Dockerfile File_ = Dockerfile.Parse(File.ReadAllText(Repo.PathOf("Dockerfile")));

    private static Dockerfile.Stage Build => Assert.Single(File_.Stages, s => s.Name == "build");

    private static Dockerfile.Stage Runtime => File_.Stages[^1];

    [Fact]
    public void BuildsOnTheSdkImageAndRunsOnTheAspNetRuntime()
    {
        Assert.Equal(2, File_.Stages.Count);
        Assert.Equal("mcr.microsoft.com/dotnet/sdk:10.0", Build.From);
        Assert.Equal("mcr.microsoft.com/dotnet/aspnet:10.0", Runtime.From);
        Assert.Equal("runtime", Runtime.Name);
        Assert.Contains(Runtime.All("COPY"), c => c.Arguments.StartsWith("--from=build /app /app", StringComparison.Ordinal));
        // The build stage has g++ (build/native and, on an old libstdc++, build/torchcompat's GLIBCXX shim).
        Assert.Contains(Build.All("RUN"), r => r.Arguments.Contains("apt-get install") && r.Arguments.Contains("g++"));
    }

    [Fact]
    public void TheTorchBackendArgumentReachesRestoreAndBothPublishes()
    {
        Assert.Contains(Build.All("ARG"), a => a.Arguments == "TORCH_BACKEND=cpu");
        var runs = string.Join("\n", Build.All("RUN").Select(r => r.Arguments));
        foreach (var project in new[] { "src/Service/Service.csproj", "src/Cli/Cli.csproj" })
        {
            Assert.Contains($"dotnet restore {project} -p:TorchBackend=${{TORCH_BACKEND}}", runs);
            Assert.Contains($"dotnet publish {project} -c Release --no-restore -p:TorchBackend=${{TORCH_BACKEND}} -o /app", runs);
        }
        // Every project file the restore needs is copied before it.
        foreach (var csproj in Directory.EnumerateFiles(Repo.PathOf("src"), "*.csproj", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(Repo.Root, csproj).Replace('\\', '/');
            Assert.Contains(Build.All("COPY"), c => c.Arguments.StartsWith(relative + " ", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void RunsAsTheNonRootUserTheManifestsRequire()
    {
        var user = Runtime.Last("USER")!.Arguments;
        Assert.True(long.TryParse(user.Split(':')[0], out long uid), $"USER {user} is not numeric (runAsNonRoot cannot check a name)");
        Assert.NotEqual(0, uid);
        Assert.Equal(DeploymentChecks.AppUid, uid);
        Assert.Equal(uid, Manifests.Deployment.Spec.Template.Spec.SecurityContext.RunAsUser);
        Assert.Equal(uid, Manifests.One<V1Job>("batch/job.yaml").Spec.Template.Spec.SecurityContext.RunAsUser);
        // USER comes before the smoke test and the entry point: nothing runs as root at run time.
        var order = Runtime.Instructions.ToList();
        Assert.True(order.FindIndex(i => i.Keyword == "USER") < order.FindIndex(i => i.Keyword == "ENTRYPOINT"));
    }

    [Fact]
    public void ExposesThePortsOfTheServiceAndTheDeployment()
    {
        var exposed = Runtime.All("EXPOSE").SelectMany(e => e.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Select(int.Parse).Order().ToList();
        var env = Env(Runtime);
        var defaults = new ServerOptions();
        int health = int.Parse(env["Var__Server__HealthPort"]);
        Assert.Equal(new[] { defaults.Port, health, defaults.MetricsPort }.Order(), exposed);
        var c = Manifests.ServiceContainer(Manifests.Deployment);
        Assert.Equal(exposed, c.Ports.Select(p => p.ContainerPort).Order());
        Assert.Equal(health, Manifests.Port(c, "health"));
    }

    [Fact]
    public void TheHealthCheckAsksTheGrpcHealthServiceOnTheHealthPort()
    {
        var check = Runtime.Last("HEALTHCHECK")!.Arguments;
        foreach (var option in new[] { "--interval=", "--timeout=", "--start-period=", "--retries=" }) Assert.Contains(option, check);
        var command = HealthCommand();
        Assert.Equal(["var", "health", "--server", $"http://127.0.0.1:{Env(Runtime)["Var__Server__HealthPort"]}", "--service", "var.v1.Generation"], command);
        // "var" is the image's wrapper around /app/var.dll (also the Job's command).
        Assert.Contains(Runtime.All("RUN"), r => r.Arguments.Contains("exec dotnet /app/var.dll") && r.Arguments.Contains("/usr/local/bin/var"));
        Assert.Equal(["dotnet", "/app/Var.Service.dll"], Dockerfile.ExecForm(Runtime.Last("ENTRYPOINT")!.Arguments));
    }

    /// <summary>The HEALTHCHECK's command (exec form), run against a live service by <see cref="ServiceUnderTheDeploymentTests"/>.</summary>
    public static string[] HealthCommand()
    {
        var check = Runtime.Last("HEALTHCHECK")!.Arguments;
        return Dockerfile.ExecForm(check[check.IndexOf("CMD", StringComparison.Ordinal)..]);
    }

    /// <summary>The ENV settings of <paramref name="stage"/> (KEY=VALUE pairs).</summary>
    public static Dictionary<string, string> Env(Dockerfile.Stage stage) =>
        stage.All("ENV").SelectMany(e => e.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);

    /// <summary>The runtime stage's environment.</summary>
    public static Dictionary<string, string> RuntimeEnv() => Env(Runtime);

    [Fact]
    public void TheShippedWeightsAreInsideAndEverySourceIsInTheBuildContext()
    {
        Assert.Contains(Build.All("COPY"), c => c.Arguments == "weights/ /app/weights/");
        Assert.Equal("/app/weights", Env(Runtime)["VAR_WEIGHTS"]);
        Assert.True(File.Exists(Repo.PathOf("weights", "fmnist", "model.json")));
        var ignored = File.ReadAllLines(Repo.PathOf(".dockerignore")).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        foreach (var copy in File_.Stages.SelectMany(s => s.All("COPY")).Where(c => !c.Arguments.StartsWith("--from", StringComparison.Ordinal)))
        {
            var parts = copy.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            foreach (var source in parts[..^1])
            {
                Assert.True(File.Exists(Repo.PathOf(source)) || Directory.Exists(Repo.PathOf(source)), $"COPY {source}: not in the repository");
                Assert.DoesNotContain(source.TrimEnd('/') + "/", ignored);
                Assert.DoesNotContain(source, ignored);
            }
        }
        // Build outputs never enter the context (they would replace the image's own build).
        Assert.Contains("**/bin/", ignored);
        Assert.Contains("**/obj/", ignored);
    }

    [SkippableFact]
    public void TheImageBuildsWhereAContainerEngineAndTheBaseImagesAreAvailable()
    {
        Skip.IfNot(Tool.OnPath("docker"), "no docker command on this machine");
        var info = Tool.Run("docker", ["info", "--format", "{{.ServerVersion}}"], TimeSpan.FromSeconds(20));
        Skip.If(info.ExitCode != 0, "docker has no daemon here: " + info.Output.Split('\n')[0]);
        foreach (var image in new[] { Build.From, Runtime.From })
            Skip.If(Tool.Run("docker", ["image", "inspect", image], TimeSpan.FromSeconds(20)).ExitCode != 0, $"base image {image} is not available locally");
        var build = Tool.Run("docker", ["build", "-t", "var:deploy-test", "."], TimeSpan.FromMinutes(40));
        Assert.True(build.ExitCode == 0, build.Output);
    }
}
