using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;

namespace Var.Bench.Service;

/// <summary>The real server (<c>dotnet Var.Service.dll</c> from this program's folder) on a free loopback port.</summary>
internal sealed class ServerProcess : IDisposable
{
    private readonly Process process;

    private ServerProcess(Process process, int port)
    {
        this.process = process;
        Address = $"http://127.0.0.1:{port}";
    }

    /// <summary>"http://127.0.0.1:PORT".</summary>
    public string Address { get; }

    /// <summary>Resident set size of the server process in MiB (VmRSS).</summary>
    public double ResidentMiB()
    {
        foreach (var line in File.ReadLines($"/proc/{process.Id}/status"))
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024.0;
        return double.NaN;
    }

    /// <summary>Starts the server and waits until it reports SERVING.</summary>
    public static async Task<ServerProcess> StartAsync(BenchModel model, int threads, int maxBatch, double maxWaitMs)
    {
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = AppContext.BaseDirectory };
        foreach (var a in new[]
        {
            Path.Combine(AppContext.BaseDirectory, "Var.Service.dll"), "--port", port.ToString(), "--metrics-port", "0",
            "--models", model.ModelsFolder, "--model", model.Name, "--threads", threads.ToString(),
            "--max-batch", maxBatch.ToString(), "--max-wait-ms", maxWaitMs.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--max-queue", "1024", "--Var:Server:ListenAddress=loopback", "--Logging:LogLevel:Default=Warning",
        }) start.ArgumentList.Add(a);
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine("server: " + e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new ServerProcess(process, port);
        using var channel = GrpcChannel.ForAddress(server.Address);
        var health = new Health.HealthClient(channel);
        var until = DateTime.UtcNow.AddMinutes(2);
        while (true)
        {
            if (process.HasExited) throw new InvalidOperationException($"the server exited with {process.ExitCode}");
            try
            {
                if ((await health.CheckAsync(new HealthCheckRequest())).Status == HealthCheckResponse.Types.ServingStatus.Serving) return server;
            }
            catch (RpcException)
            {
                // Not listening yet.
            }
            if (DateTime.UtcNow > until) throw new TimeoutException("the server did not become SERVING");
            await Task.Delay(100);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (!process.HasExited)
        {
            using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString()])) kill.WaitForExit();
            if (!process.WaitForExit(30_000)) process.Kill(entireProcessTree: true);
        }
        process.Dispose();
    }
}
