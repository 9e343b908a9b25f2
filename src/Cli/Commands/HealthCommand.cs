using System.CommandLine;
using Grpc.Health.V1;
using Var.Client;

namespace Var.Cli.Commands;

/// <summary>
/// <c>var health --server URL</c>: asks a generation service's grpc.health.v1 service (no token needed) and exits 0
/// when it is SERVING, 1 when it answers anything else, 2 when it cannot be asked. The container image's
/// HEALTHCHECK; works against any gRPC server with the standard health service.
/// </summary>
internal static class HealthCommand
{
    public static Command Create()
    {
        var remote = new ServerArguments("Server to ask, e.g. http://127.0.0.1:50052 (the health port) or the gRPC port.");
        var service = new Option<string>("--service") { Description = "Health-check service name: \"\" (the whole server), var.v1.Generation (takes work: models loaded, not draining) or liveness (the process answers).", DefaultValueFactory = _ => "" };
        var timeout = new Option<double>("--timeout") { Description = "Seconds to wait for the answer.", DefaultValueFactory = _ => 5 };
        var cmd = new Command("health", "Check a generation service's gRPC health: exit 0 when SERVING, 1 otherwise, 2 when unreachable.");
        remote.AddTo(cmd);
        cmd.Options.Add(service);
        cmd.Options.Add(timeout);
        cmd.SetAction((pr, ct) => Task.FromResult(CommandRunner.Run(() =>
        {
            var address = pr.GetValue(remote.Server) ?? throw new ArgumentException("--server is required");
            double seconds = pr.GetValue(timeout);
            if (!(seconds > 0)) throw new ArgumentException("--timeout must be > 0");
            var options = remote.ClientOptions(pr, new VarClientOptions { MaxAttempts = 1, Timeout = TimeSpan.FromSeconds(seconds) });
            using var client = new VarClient(address, options);
            try
            {
                var status = client.CheckHealthAsync(pr.GetValue(service) ?? "", ct).GetAwaiter().GetResult();
                Console.WriteLine(status switch
                {
                    HealthCheckResponse.Types.ServingStatus.Serving => "SERVING",
                    HealthCheckResponse.Types.ServingStatus.NotServing => "NOT_SERVING",
                    HealthCheckResponse.Types.ServingStatus.ServiceUnknown => "SERVICE_UNKNOWN",
                    _ => "UNKNOWN",
                });
                return status == HealthCheckResponse.Types.ServingStatus.Serving ? 0 : 1;
            }
            catch (RemoteGenerationException e)
            {
                Console.Error.WriteLine($"error: {address}: {e.Message}");
                return 2;
            }
        })));
        return cmd;
    }
}
