using System.Net;
using Grpc.HealthCheck;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using Var.Service.Metrics;
using Var.Service.Models;
using Var.Service.Options;
using Var.Service.Scheduling;
using Var.Service.Security;
using Var.Service.Services;
using Var.Service.Validation;

namespace Var.Service.Hosting;

/// <summary>Composition of the service: options, scheduler, gRPC endpoints, health, reflection, metrics, Kestrel.</summary>
public static class GenerationServiceExtensions
{
    /// <summary>Short command-line switches (besides the full <c>--Var:Section:Key=value</c> form).</summary>
    public static readonly IReadOnlyDictionary<string, string> Switches = new Dictionary<string, string>
    {
        ["--port"] = $"{ServerOptions.Section}:Port",
        ["--metrics-port"] = $"{ServerOptions.Section}:MetricsPort",
        ["--model"] = $"{ModelOptions.Section}:Default",
        ["--models"] = $"{ModelOptions.Section}:Folder",
        ["--device"] = $"{ModelOptions.Section}:Device",
        ["--dtype"] = $"{ModelOptions.Section}:DType",
        ["--threads"] = $"{ModelOptions.Section}:Threads",
        ["--max-batch"] = $"{SchedulerOptions.Section}:MaxBatchSize",
        ["--max-wait-ms"] = $"{SchedulerOptions.Section}:MaxWaitMs",
        ["--max-queue"] = $"{SchedulerOptions.Section}:MaxQueuedImages",
        ["--health-port"] = $"{ServerOptions.Section}:HealthPort",
        ["--tokens"] = $"{AuthOptions.Section}:TokensPath",
        ["--tls-cert"] = $"{ServerOptions.Section}:Certificate:Path",
        ["--tls-key"] = $"{ServerOptions.Section}:Certificate:KeyPath",
    };

    /// <summary>Registers everything the service needs and configures Kestrel from <see cref="ServerOptions"/>.</summary>
    public static WebApplicationBuilder AddGenerationServices(this WebApplicationBuilder builder, string[]? args = null)
    {
        if (args is { Length: > 0 }) builder.Configuration.AddCommandLine(args, Switches.ToDictionary());
        // Log scopes carry the request id; trace/span ids would only lengthen every line.
        builder.Logging.Configure(o => o.ActivityTrackingOptions = ActivityTrackingOptions.None);
        var services = builder.Services;
        services.AddOptions<ServerOptions>().BindConfiguration(ServerOptions.Section).Validate(o => Valid(o.Validate)).ValidateOnStart();
        services.AddOptions<ModelOptions>().BindConfiguration(ModelOptions.Section);
        services.AddOptions<SchedulerOptions>().BindConfiguration(SchedulerOptions.Section).Validate(o => Valid(o.Validate)).ValidateOnStart();

        services.AddSingleton<HealthServiceImpl>();
        services.AddSingleton<ServingState>();
        services.AddSingleton<ServiceMetrics>();
        services.AddSingleton<IModelProvider, FolderModelProvider>();
        services.AddSingleton<GenerationScheduler>();
        services.AddHostedService(sp => sp.GetRequiredService<GenerationScheduler>());
        services.AddSingleton<RequestValidator>();
        services.AddSingleton<CallInterceptor>();
        services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.Section).Validate(o => Valid(o.Validate)).ValidateOnStart();
        services.AddSingleton<TokenStore>();
        services.AddSingleton<ServerCertificate>();
        services.AddSingleton<AccessInterceptor>();

        // CallInterceptor outermost, so that the access check's refusals are counted by status like every other call.
        services.AddGrpc(o =>
        {
            o.Interceptors.Add<CallInterceptor>();
            o.Interceptors.Add<AccessInterceptor>();
        });
        services.AddOptions<Grpc.AspNetCore.Server.GrpcServiceOptions>().Configure<IOptions<ServerOptions>>((grpc, server) =>
        {
            grpc.MaxReceiveMessageSize = server.Value.MaxReceiveMessageBytes;
            grpc.MaxSendMessageSize = server.Value.MaxSendMessageBytes;
            grpc.EnableDetailedErrors = false;
        });
        services.AddGrpcReflection();
        services.AddOpenTelemetry().WithMetrics(m => m.AddMeter(ServiceMetrics.MeterName).AddPrometheusExporter());

        // Kestrel:Endpoints in the configuration (Kestrel's own schema, certificates included) replaces these listeners.
        bool kestrelEndpoints = builder.Configuration.GetSection("Kestrel:Endpoints").GetChildren().Any();
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<ServerOptions>, ServerCertificate>((kestrel, server, certificate) =>
        {
            if (kestrelEndpoints) return;
            var o = server.Value;
            var address = o.ListenAddress.Trim().ToLowerInvariant() switch
            {
                "any" or "" or "*" => IPAddress.IPv6Any,
                "loopback" or "localhost" => IPAddress.Loopback,
                var text => IPAddress.Parse(text),
            };
            kestrel.Listen(address, o.Port, l =>
            {
                l.Protocols = HttpProtocols.Http2;
                if (certificate.Enabled)
                    l.UseHttps(new TlsHandshakeCallbackOptions { OnConnection = _ => ValueTask.FromResult(certificate.AuthenticationOptions()) });
            });
            if (o.HealthPort != 0) kestrel.Listen(address, o.HealthPort, l => l.Protocols = HttpProtocols.Http2);
            if (o.MetricsPort != 0) kestrel.Listen(address, o.MetricsPort, l => l.Protocols = HttpProtocols.Http1);
        });
        // Kestrel waits this long for calls to finish after SIGTERM; the scheduler's grace period comes first.
        services.AddOptions<HostOptions>().Configure<IOptions<ServerOptions>>((host, server) =>
            host.ShutdownTimeout = TimeSpan.FromSeconds(server.Value.DrainGraceSeconds + 5));
        return builder;
    }

    /// <summary>Maps the generation service, health, reflection and the Prometheus scrape endpoint (/metrics).</summary>
    public static WebApplication MapGenerationServices(this WebApplication app)
    {
        app.MapGrpcService<GenerationService>();
        app.MapGrpcService<HealthServiceImpl>();
        app.MapGrpcReflectionService();
        app.MapPrometheusScrapingEndpoint();
        // Resolve now so that health answers NOT_SERVING (not "unknown service") before the models are loaded.
        app.Services.GetRequiredService<ServingState>();
        // Read the tokens now: a bad token file stops the start instead of refusing every call later.
        app.Services.GetRequiredService<TokenStore>();
        return app;
    }

    private static bool Valid(Action validate)
    {
        validate();
        return true;
    }
}
