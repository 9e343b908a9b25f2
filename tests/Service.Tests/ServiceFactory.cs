using Grpc.Health.V1;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Var.Service.Scheduling;

namespace Var.Service.Tests;

/// <summary>The service in-process (TestServer) on the tiny model, with extra configuration and service overrides.</summary>
public class ServiceFactory : WebApplicationFactory<Program>
{
    private readonly IReadOnlyDictionary<string, string>? settings;
    private readonly Action<IServiceCollection>? services;

    /// <summary>Default options.</summary>
    public ServiceFactory()
    {
    }

    /// <summary>Extra configuration keys and service overrides.</summary>
    protected ServiceFactory(IReadOnlyDictionary<string, string>? settings, Action<IServiceCollection>? services = null)
    {
        this.settings = settings;
        this.services = services;
    }

    /// <inheritdoc />
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("Var:Models:Folder", TinyModelFolder.Shared.Root);
        builder.UseSetting("Var:Models:Default", TinyModelFolder.Name);
        // One torch thread: OpenMP barriers stall badly when other processes hold the cores.
        builder.UseSetting("Var:Models:Threads", "1");
        foreach (var (key, value) in settings ?? new Dictionary<string, string>()) builder.UseSetting(key, value);
        if (services is not null) builder.ConfigureTestServices(services);
    }

    /// <summary>The scheduler singleton.</summary>
    public GenerationScheduler Scheduler => Services.GetRequiredService<GenerationScheduler>();

    /// <summary>A gRPC channel over the test server's handler.</summary>
    public GrpcChannel Channel() => GrpcChannel.ForAddress(Server.BaseAddress, new GrpcChannelOptions
    {
        HttpHandler = Server.CreateHandler(),
        MaxSendMessageSize = null,
    });

    /// <summary>A client of the generation service.</summary>
    public Generation.GenerationClient Client() => new(Channel());

    /// <summary>Waits until health reports SERVING.</summary>
    public async Task WaitServingAsync()
    {
        var health = new Health.HealthClient(Channel());
        var until = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var status = (await health.CheckAsync(new HealthCheckRequest())).Status;
            if (status == HealthCheckResponse.Types.ServingStatus.Serving) return;
            if (DateTime.UtcNow > until) throw new TimeoutException($"service not SERVING after 60 s (status {status})");
            await Task.Delay(20);
        }
    }
}
