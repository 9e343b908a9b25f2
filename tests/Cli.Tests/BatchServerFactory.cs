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
    /// Runs <paramref name="work"/> as the server runs its batches: on a fresh thread that first sets one torch thread
    /// (the server's torch thread does that at its start, <c>Var:Models:Threads</c> below). Torch's thread settings are
    /// partly per OS thread and partly process-wide, and the matmuls round differently with 1 and 2 threads, which can
    /// flip a near-tie draw (the shipped model's coat, seed 44, does), so a test comparing the local engine with the
    /// server runs the local side through this.
    /// </summary>
    public static T AsTheServerRuns<T>(Func<T> work)
    {
        T result = default!;
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                TorchSharp.torch.set_num_threads(1);
                result = work();
            }
            catch (Exception e)
            {
                error = e;
            }
        });
        thread.Start();
        thread.Join();
        if (error is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(error).Throw();
        return result;
    }

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
