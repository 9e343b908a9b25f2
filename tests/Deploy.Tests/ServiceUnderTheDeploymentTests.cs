using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Var.Client;
using Var.Service.V1;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace Var.Deploy.Tests;

/// <summary>
/// The service process started with the Deployment's environment (and the image's), its token Secret and the shipped
/// model, as the pod would run: the probes' health answers, the image's HEALTHCHECK command, the metric the
/// autoscalers read, the token check; then SIGTERM during the longest request the Deployment allows, which still
/// completes, and the process exits within the manifest's terminationGracePeriodSeconds.
/// </summary>
public sealed class ServiceUnderTheDeploymentTests : IDisposable
{
    private const string Token = "deployment-test-token-0123456789";
    private readonly string root = Path.Combine(Path.GetTempPath(), "var-pod-" + Guid.NewGuid().ToString("N")[..8]);

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [Fact]
    public async Task ProbesAnswerAndSigtermDrainsTheLongestRequestWithinTheGracePeriod()
    {
        var d = Manifests.Deployment;
        var c = Manifests.ServiceContainer(d);
        var manifestEnv = Manifests.Env(c);
        var tokensPath = manifestEnv["Var__Auth__TokensPath"];
        var secret = Path.Combine(root, "tokens");
        Directory.CreateDirectory(secret);
        File.WriteAllText(Path.Combine(secret, "tokens"), Token + "\n");
        var tmp = Path.Combine(root, "tmp");
        Directory.CreateDirectory(tmp);
        var pod = new PodRun(c, new Dictionary<string, string> { [tokensPath] = secret, ["/tmp"] = tmp });

        // Free loopback ports instead of the pod's own network namespace; everything else as the manifest says.
        int port = FreePort(), health = FreePort(), metrics = FreePort();
        var env = pod.Environment(new Dictionary<string, string>
        {
            ["Var__Server__ListenAddress"] = "loopback",
            ["Var__Server__Port"] = port.ToString(),
            ["Var__Server__HealthPort"] = health.ToString(),
            ["Var__Server__MetricsPort"] = metrics.ToString(),
        });
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = AppContext.BaseDirectory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Repo.Program("Var.Service.dll"));
        foreach (var (k, v) in env) start.Environment[k] = v;
        var log = new StringBuilder();
        using var server = Process.Start(start)!;
        server.OutputDataReceived += (_, e) => { lock (log) log.AppendLine(e.Data); };
        server.ErrorDataReceived += (_, e) => { lock (log) log.AppendLine(e.Data); };
        server.BeginOutputReadLine();
        server.BeginErrorReadLine();
        try
        {
            // Each probe on a new connection, as the kubelet does: a port that stopped accepting fails it.
            async Task<ServingStatus?> Probe(string service)
            {
                using var healthChannel = GrpcChannel.ForAddress($"http://127.0.0.1:{health}");
                var probe = new Health.HealthClient(healthChannel);
                try
                {
                    return (await probe.CheckAsync(new HealthCheckRequest { Service = service }, deadline: DateTime.UtcNow.AddSeconds(5))).Status; // more than the probes' 1 s: a busy test machine
                }
                catch (RpcException e) when (e.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded)
                {
                    return null;
                }
            }

            // The startup probe's budget: periodSeconds × failureThreshold.
            var clock = Stopwatch.StartNew();
            var budget = TimeSpan.FromSeconds((c.StartupProbe.PeriodSeconds ?? 10) * (c.StartupProbe.FailureThreshold ?? 3));
            while (await Probe(c.StartupProbe.Grpc.Service) != ServingStatus.Serving)
            {
                Assert.False(server.HasExited, "the service exited:\n" + log);
                Assert.True(clock.Elapsed < budget, $"not SERVING within the startup probe's {budget}:\n{log}");
                await Task.Delay(100);
            }
            Assert.Equal(ServingStatus.Serving, await Probe(c.ReadinessProbe.Grpc.Service));
            Assert.Equal(ServingStatus.Serving, await Probe(c.LivenessProbe.Grpc.Service));

            // The image's HEALTHCHECK, as written in the Dockerfile, against the health port.
            var check = DockerfileTests.HealthCommand();
            Assert.Equal("var", check[0]);
            var healthArgs = check.Skip(1).Select(a => a.Replace($":{DockerfileTests.RuntimeEnv()["Var__Server__HealthPort"]}", $":{health}")).ToList();
            var healthcheck = Tool.Run("dotnet", [Repo.Program("var.dll"), .. healthArgs], TimeSpan.FromSeconds(60), AppContext.BaseDirectory);
            Assert.True(healthcheck.ExitCode == 0, healthcheck.Output);
            Assert.Contains("SERVING", healthcheck.Output);

            // The autoscalers' series is what the exporter really publishes.
            using (var http = new HttpClient())
            {
                var scrape = await http.GetStringAsync($"http://127.0.0.1:{metrics}{d.Spec.Template.Metadata.Annotations["prometheus.io/path"]}");
                Assert.Contains("\n" + ManifestTests.QueueDepthSeries, "\n" + scrape);
            }

            // The mounted token is required on the gRPC port.
            using var anonymous = new VarClient($"http://127.0.0.1:{port}", new VarClientOptions { MaxAttempts = 1 });
            Assert.Equal(StatusCode.Unauthenticated, (await Assert.ThrowsAsync<RemoteGenerationException>(() => anonymous.ListModelsAsync())).Code);
            using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
            var headers = new Metadata { { "authorization", "Bearer " + Token } };
            var generation = new Generation.GenerationClient(channel);

            // The var tool's --server paths carry the mounted token too (the batch tool through the headless-Service
            // address form dns:///, generate with $VAR_TOKEN); without it they fail naming UNAUTHENTICATED.
            var jobs = Path.Combine(root, "jobs.jsonl");
            File.WriteAllText(jobs, "{\"class\": \"bag\", \"count\": 3, \"seed\": 8}\n");
            var batch = Tool.Run("dotnet", [Repo.Program("var.dll"), "batch", jobs, "--out", Path.Combine(root, "remote"), "--server", $"dns:///localhost:{port}", "--token-file", Path.Combine(secret, "tokens")],
                TimeSpan.FromMinutes(5), AppContext.BaseDirectory);
            Assert.True(batch.ExitCode == 0, batch.Output);
            Assert.Equal(3, PodRun.Images(Path.Combine(root, "remote")).Count);
            var generate = Tool.Run("dotnet", [Repo.Program("var.dll"), "generate", "--server", $"http://127.0.0.1:{port}", "--class", "coat", "--count", "2", "--out", Path.Combine(root, "generated")],
                TimeSpan.FromMinutes(5), AppContext.BaseDirectory, new Dictionary<string, string> { ["VAR_TOKEN"] = Token });
            Assert.True(generate.ExitCode == 0, generate.Output);
            var refused = Tool.Run("dotnet", [Repo.Program("var.dll"), "batch", jobs, "--out", Path.Combine(root, "refused"), "--server", $"http://127.0.0.1:{port}"],
                TimeSpan.FromMinutes(5), AppContext.BaseDirectory);
            Assert.NotEqual(0, refused.ExitCode);
            Assert.Contains("Unauthenticated", refused.Output);

            // The longest single request the Deployment allows; SIGTERM as soon as it is queued.
            int longest = int.Parse(manifestEnv["Var__Scheduler__MaxImagesPerRequest"]);
            using var stream = generation.GenerateStream(new GenerateRequest { ClassName = "coat", Count = longest, Seed = 100 }, headers);
            Assert.True(await stream.ResponseStream.MoveNext());
            Assert.Equal(GenerateEvent.EventOneofCase.Queued, stream.ResponseStream.Current.EventCase);
            var sigterm = Stopwatch.StartNew();
            using (var kill = Process.Start("kill", ["-TERM", server.Id.ToString()])) await kill.WaitForExitAsync();

            // Draining: readiness turns NOT_SERVING (the pod leaves the headless Service) while liveness stays SERVING
            // (the kubelet does not restart it); the queued request still completes.
            var reading = Task.Run(async () =>
            {
                int images = 0;
                while (await stream.ResponseStream.MoveNext())
                    if (stream.ResponseStream.Current.EventCase == GenerateEvent.EventOneofCase.Result) images++;
                return images;
            });
            ServingStatus? ready = null, alive = null;
            while (!reading.IsCompleted && ready != ServingStatus.NotServing) ready = await Probe(c.ReadinessProbe.Grpc.Service);
            for (int attempt = 0; attempt < 5 && alive is null; attempt++) alive = await Probe(c.LivenessProbe.Grpc.Service);
            Assert.True(ready == ServingStatus.NotServing, $"readiness while draining: {ready}\n{log}");
            Assert.True(alive == ServingStatus.Serving, $"liveness while draining: {alive}\n{log}");
            Assert.Equal(longest, await reading);
            var drained = sigterm.Elapsed;

            double drainGrace = double.Parse(manifestEnv["Var__Server__DrainGraceSeconds"], System.Globalization.CultureInfo.InvariantCulture);
            var grace = TimeSpan.FromSeconds(d.Spec.Template.Spec.TerminationGracePeriodSeconds!.Value);
            Assert.True(server.WaitForExit(grace), $"still running {grace} after SIGTERM (the kubelet would SIGKILL it):\n{log}");
            Assert.Equal(0, server.ExitCode);
            Assert.True(drained < TimeSpan.FromSeconds(drainGrace), $"the longest request took {drained} after SIGTERM, beyond DrainGraceSeconds {drainGrace}");
        }
        finally
        {
            if (!server.HasExited) server.Kill(entireProcessTree: true);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        try
        {
            Directory.Delete(root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
