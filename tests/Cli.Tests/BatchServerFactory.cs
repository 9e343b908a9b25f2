using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Var.Client;
using Var.Model.Checkpoints;
using Var.Service.Services;

namespace Var.Cli.Tests;

/// <summary>The generation service in-process (TestServer) on the shipped model, with a <see cref="RefusingInterceptor"/>.</summary>
public sealed class BatchServerFactory : WebApplicationFactory<GenerationService>
{
    /// <summary>The interceptor the server runs every call through.</summary>
    public RefusingInterceptor Refusals { get; } = new();

    /// <summary>
    /// The server runs with one torch thread (below), and torch's intra-op thread count is process-wide, so the local
    /// engine the tests compare with runs with one too, whichever test starts the server first: the matmuls round
    /// differently with 1 and 2 threads, which can flip a near-tie draw (the shipped model's coat, seed 44, does).
    /// </summary>
    public BatchServerFactory() => TorchSharp.torch.set_num_threads(1);

    /// <inheritdoc />
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("Var:Models:Folder", ModelLoader.WeightsDirectory() ?? throw new InvalidOperationException("no weights/ folder"));
        builder.UseSetting("Var:Models:Default", "fmnist");
        builder.UseSetting("Var:Models:Threads", "1");
        builder.ConfigureTestServices(services =>
        {
            services.AddSingleton(Refusals);
            services.AddGrpc(o => o.Interceptors.Add<RefusingInterceptor>());
        });
    }

    /// <summary>A client over the test server's handler, with the given retry options.</summary>
    public VarClient Client(VarClientOptions options) =>
        new(VarClient.CreateChannel(Server.BaseAddress.ToString(), options, Server.CreateHandler()), options, owns: true);
}
