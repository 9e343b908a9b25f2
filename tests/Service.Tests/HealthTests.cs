using Grpc.Health.V1;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Var.Model;
using Var.Service.Hosting;
using Var.Service.Models;
using Var.Service.Options;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace Var.Service.Tests;

/// <summary>grpc.health.v1: NOT_SERVING until the model is loaded and while draining; calls meanwhile get UNAVAILABLE.</summary>
public sealed class HealthTests
{
    /// <summary>Loads the model only when the test opens the gate.</summary>
    private sealed class GatedProvider(IOptions<ModelOptions> options, ManualResetEventSlim gate) : IModelProvider
    {
        private readonly FolderModelProvider inner = new(options);

        public ModelBundle Load(string name)
        {
            gate.Wait(TimeSpan.FromSeconds(60));
            return inner.Load(name);
        }
    }

    private sealed class GatedFactory(ManualResetEventSlim gate) : ServiceFactory(null, services =>
        services.AddSingleton<IModelProvider>(sp => new GatedProvider(sp.GetRequiredService<IOptions<ModelOptions>>(), gate)));

    private static async Task<ServingStatus> Check(ServiceFactory factory, string service = "") =>
        (await new Health.HealthClient(factory.Channel()).CheckAsync(new HealthCheckRequest { Service = service })).Status;

    [Fact]
    public async Task NotServingUntilTheModelIsLoadedThenServing()
    {
        using var gate = new ManualResetEventSlim(false);
        await using var factory = new GatedFactory(gate);
        Assert.Equal(ServingStatus.NotServing, await Check(factory));
        Assert.Equal(ServingStatus.NotServing, await Check(factory, ServingState.GenerationServiceName));
        var e = await Assert.ThrowsAsync<RpcException>(() => factory.Client().GenerateAsync(Requests.One(0, 0)).ResponseAsync);
        Assert.Equal(StatusCode.Unavailable, e.StatusCode);

        gate.Set();
        await factory.WaitServingAsync();
        Assert.Equal(ServingStatus.Serving, await Check(factory, ServingState.GenerationServiceName));
        Assert.Single((await factory.Client().GenerateAsync(Requests.One(0, 0))).Images);
    }

    [Fact]
    public async Task DrainingTurnsHealthNotServingAndRefusesNewCalls()
    {
        await using var factory = new ServiceFactory();
        await factory.WaitServingAsync();
        var health = new Health.HealthClient(factory.Channel());
        using var watch = health.Watch(new HealthCheckRequest { Service = ServingState.GenerationServiceName });
        Assert.True(await watch.ResponseStream.MoveNext());
        Assert.Equal(ServingStatus.Serving, watch.ResponseStream.Current.Status);

        factory.Scheduler.BeginDrain();

        Assert.True(await watch.ResponseStream.MoveNext());
        Assert.Equal(ServingStatus.NotServing, watch.ResponseStream.Current.Status);
        Assert.Equal(ServingStatus.NotServing, await Check(factory));
        var e = await Assert.ThrowsAsync<RpcException>(() => factory.Client().GenerateAsync(Requests.One(0, 0)).ResponseAsync);
        Assert.Equal(StatusCode.Unavailable, e.StatusCode);
        Assert.Contains("shutting down", e.Status.Detail);
    }
}
