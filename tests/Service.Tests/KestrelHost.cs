using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Var.Service.Hosting;

namespace Var.Service.Tests;

/// <summary>
/// The service on real Kestrel sockets in this process (not TestServer): loopback, free ports, the tiny model, and
/// whatever further settings a test gives — for what only a real connection shows (TLS, ports).
/// </summary>
public sealed class KestrelHost : IAsyncDisposable
{
    private readonly WebApplication app;

    private KestrelHost(WebApplication app, int port, int healthPort)
    {
        this.app = app;
        Port = port;
        HealthPort = healthPort;
    }

    /// <summary>The gRPC port.</summary>
    public int Port { get; }

    /// <summary>The health-only port.</summary>
    public int HealthPort { get; }

    /// <summary>The host's services.</summary>
    public IServiceProvider Services => app.Services;

    /// <summary>A free loopback TCP port.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Starts the service with <paramref name="settings"/> on top of the test defaults; returns once it is listening.</summary>
    public static async Task<KestrelHost> StartAsync(IReadOnlyDictionary<string, string> settings, int? port = null)
    {
        int grpc = port ?? FreePort(), health = FreePort();
        var all = new Dictionary<string, string>
        {
            ["Var:Server:ListenAddress"] = "loopback",
            ["Var:Server:Port"] = grpc.ToString(),
            ["Var:Server:HealthPort"] = health.ToString(),
            ["Var:Server:MetricsPort"] = "0",
            ["Var:Models:Folder"] = TinyModelFolder.Shared.Root,
            ["Var:Models:Default"] = TinyModelFolder.Name,
            ["Var:Models:Threads"] = "1",
        };
        foreach (var (key, value) in settings) all[key] = value;
        var args = all.Select(kv => $"--{kv.Key}={kv.Value}").ToArray();
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        builder.AddGenerationServices(args);
        var app = builder.Build();
        app.MapGenerationServices();
        await app.StartAsync();
        return new KestrelHost(app, grpc, health);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
