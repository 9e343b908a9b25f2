using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Grpc.Health.V1;

namespace Var.Service.Tests;

/// <summary>The real server process (<c>dotnet Var.Service.dll</c>) on free loopback ports, called over cleartext HTTP/2.</summary>
public sealed class EndToEndTests
{
    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [Fact]
    public async Task ServerProcessServesGrpcAndMetricsAndDrainsOnSigterm()
    {
        int port = FreePort(), metricsPort = FreePort();
        var bin = AppContext.BaseDirectory;
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = bin,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
        {
            Path.Combine(bin, "Var.Service.dll"), "--port", port.ToString(), "--metrics-port", metricsPort.ToString(),
            "--models", TinyModelFolder.Shared.Root, "--model", TinyModelFolder.Name, "--threads", "1",
            "--Var:Server:ListenAddress=loopback", "--Var:Server:DrainGraceSeconds=10",
        }) start.ArgumentList.Add(arg);
        var output = new StringBuilder();
        using var server = Process.Start(start)!;
        server.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        server.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        server.BeginOutputReadLine();
        server.BeginErrorReadLine();
        try
        {
            using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
            var health = new Health.HealthClient(channel);
            var until = DateTime.UtcNow.AddSeconds(60);
            while (true)
            {
                Assert.False(server.HasExited, "the server exited early:\n" + output);
                try
                {
                    if ((await health.CheckAsync(new HealthCheckRequest())).Status == HealthCheckResponse.Types.ServingStatus.Serving) break;
                }
                catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable)
                {
                    // Not listening yet.
                }
                Assert.True(DateTime.UtcNow < until, "not SERVING after 60 s:\n" + output);
                await Task.Delay(100);
            }

            var client = new Generation.GenerationClient(channel);
            var response = await client.GenerateAsync(new GenerateRequest { ClassName = "dress", Count = 2, Seed = 9 });
            Assert.Equal([9L, 10], response.Images.Select(i => i.Seed));
            Assert.All(response.Images, i => Assert.Equal("dress", i.ClassName));

            using var http = new HttpClient();
            var metrics = await http.GetStringAsync($"http://127.0.0.1:{metricsPort}/metrics");
            Assert.Contains("var_queue_depth", metrics);

            // Edits over the real HTTP/2 connection: one works, a bad box is INVALID_ARGUMENT naming the field, a
            // message over the receive limit (Var:Server:MaxReceiveMessageBytes, 4 MiB) is RESOURCE_EXHAUSTED.
            var png = response.Images[0].Data;
            using (var edit = client.Edit(new EditRequest { Image = png, Box = new Box { X1 = 0.5, Y1 = 1 }, Generation = new GenerateRequest { Seed = 3 } }))
            {
                int results = 0;
                while (await edit.ResponseStream.MoveNext()) results += edit.ResponseStream.Current.EventCase == GenerateEvent.EventOneofCase.Result ? 1 : 0;
                Assert.Equal(1, results);
            }
            using (var badBox = client.Edit(new EditRequest { Image = png, Box = new Box { X0 = 0.6, X1 = 0.2, Y1 = 1 } }))
            {
                var e = await Assert.ThrowsAsync<RpcException>(() => badBox.ResponseStream.MoveNext());
                Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
                Assert.Equal("box", Assert.Single(e.GetRpcStatus()!.GetDetail<Google.Rpc.BadRequest>().FieldViolations).Field);
            }
            using (var huge = client.Edit(new EditRequest { Image = Google.Protobuf.ByteString.CopyFrom(new byte[5 * 1024 * 1024]), Box = new Box { X1 = 1, Y1 = 1 } }))
            {
                var e = await Assert.ThrowsAsync<RpcException>(() => huge.ResponseStream.MoveNext());
                Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
            }

            // SIGTERM while a stream is in flight: it still completes; then the process exits cleanly.
            using var stream = client.GenerateStream(new GenerateRequest { ClassId = 0, Seed = 1, Count = 64 });
            Assert.True(await stream.ResponseStream.MoveNext());
            Assert.Equal(GenerateEvent.EventOneofCase.Queued, stream.ResponseStream.Current.EventCase);
            using (var kill = Process.Start("kill", ["-TERM", server.Id.ToString()])) await kill.WaitForExitAsync();
            var events = new List<GenerateEvent>();
            try
            {
                while (await stream.ResponseStream.MoveNext()) events.Add(stream.ResponseStream.Current);
            }
            catch (RpcException e)
            {
                lock (output) Assert.Fail($"{e.Status} after {events.Count} events; server output:\n{output}");
            }
            Assert.Equal(64, events.Count(e => e.EventCase == GenerateEvent.EventOneofCase.Result));
            Assert.Equal(GenerateEvent.EventOneofCase.Done, events[^1].EventCase);

            using var exit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await server.WaitForExitAsync(exit.Token);
            Assert.True(server.ExitCode == 0, $"exit code {server.ExitCode}:\n{output}");
            lock (output) Assert.Contains("Draining", output.ToString());
        }
        finally
        {
            if (!server.HasExited) server.Kill(entireProcessTree: true);
        }
    }
}
