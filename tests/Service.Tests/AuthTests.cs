using Grpc.Health.V1;
using Grpc.Reflection.V1Alpha;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Var.Client;
using Var.Service.Options;
using Var.Service.Security;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace Var.Service.Tests;

/// <summary>
/// The bearer-token check (Var:Auth:TokensPath on a folder mounted like a Kubernetes Secret): a missing or wrong token
/// is UNAUTHENTICATED before the call reaches the service, so nothing is queued; the right one works; health and
/// reflection stay open; a rotated Secret applies without a restart.
/// </summary>
public sealed class AuthTests : IAsyncLifetime
{
    private const string First = "first-token-0123456789abcdef";
    private const string Second = "second-token-fedcba9876543210";

    private readonly SecretFolder secret = new(new Dictionary<string, string> { ["tokens"] = $"# clients of team A\n{First}\n\n{Second}\n" });
    private readonly CallRecorder recorder = new();
    private Factory factory = null!;

    private sealed class Factory(string tokens, CallRecorder recorder) : ServiceFactory(
        new Dictionary<string, string> { ["Var:Auth:TokensPath"] = tokens, ["Var:Auth:ReloadSeconds"] = "0.05" },
        services =>
        {
            services.AddSingleton(recorder);
            services.AddGrpc(o => o.Interceptors.Add<CallRecorder>());
        });

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        factory = new Factory(secret.Root, recorder);
        await factory.WaitServingAsync();
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        await factory.DisposeAsync();
        secret.Dispose();
    }

    private VarClient Client(string? token) =>
        new(VarClient.CreateChannel(factory.Server.BaseAddress.ToString(), new VarClientOptions { BearerToken = token, MaxAttempts = 1 }, factory.Server.CreateHandler()),
            new VarClientOptions { BearerToken = token, MaxAttempts = 1 }, owns: true);

    private static Metadata Authorization(string value) => new() { { "authorization", value } };

    private void AssertNothingReachedTheServiceOrQueued()
    {
        Assert.Empty(recorder.GenerationCalls());
        Assert.Equal(0, factory.Scheduler.QueuedImages);
        Assert.Equal(0, factory.Scheduler.RunningImages);
    }

    [Fact]
    public async Task CallsWithoutATokenAreUnauthenticatedAndQueueNothing()
    {
        var client = factory.Client();
        var big = Requests.One(0, 1, count: 64);
        var unary = await Assert.ThrowsAsync<RpcException>(() => client.GenerateAsync(big).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, unary.StatusCode);
        Assert.Contains("missing bearer token", unary.Status.Detail);
        using (var stream = client.GenerateStream(big))
            Assert.Equal(StatusCode.Unauthenticated, (await Assert.ThrowsAsync<RpcException>(() => stream.ResponseStream.MoveNext())).StatusCode);
        using (var edit = client.Edit(new EditRequest { Generation = big, Mode = EditMode.Inpaint }))
            Assert.Equal(StatusCode.Unauthenticated, (await Assert.ThrowsAsync<RpcException>(() => edit.ResponseStream.MoveNext())).StatusCode);
        Assert.Equal(StatusCode.Unauthenticated, (await Assert.ThrowsAsync<RpcException>(() => client.ListModelsAsync(new ListModelsRequest()).ResponseAsync)).StatusCode);

        using var plain = Client(null);
        var e = await Assert.ThrowsAsync<RemoteGenerationException>(() => plain.GenerateAsync(new RemoteRequest { Class = "coat", Count = 64, Seed = 1 }));
        Assert.Equal(StatusCode.Unauthenticated, e.Code);
        AssertNothingReachedTheServiceOrQueued();
    }

    [Theory]
    [InlineData("Bearer not-the-token-0123456789")]
    [InlineData("Bearer " + First + "x")]
    [InlineData("Bearer first-token-0123456789abcdeF")]
    [InlineData("Bearer first-token")]
    [InlineData("Bearer ")]
    [InlineData("Basic " + First)]
    [InlineData(First)]
    public async Task WrongTokensAreUnauthenticatedAndQueueNothing(string authorization)
    {
        var client = factory.Client();
        var e = await Assert.ThrowsAsync<RpcException>(() => client.GenerateAsync(Requests.One(0, 1, count: 64), Authorization(authorization)).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, e.StatusCode);
        Assert.DoesNotContain(First, e.Status.Detail);
        using var stream = client.GenerateStream(Requests.One(0, 1, count: 64), Authorization(authorization));
        Assert.Equal(StatusCode.Unauthenticated, (await Assert.ThrowsAsync<RpcException>(() => stream.ResponseStream.MoveNext())).StatusCode);
        AssertNothingReachedTheServiceOrQueued();
    }

    [Fact]
    public async Task EveryListedTokenWorksThroughTheClient()
    {
        foreach (var token in new[] { First, Second })
        {
            using var client = Client(token);
            var images = await client.GenerateAsync(new RemoteRequest { Class = "coat", Count = 2, Seed = 5 });
            Assert.Equal([5L, 6], images.Select(i => i.Seed));
            var streamed = await client.StreamAsync(new RemoteRequest { Class = "bag", Seeds = [3] });
            Assert.Single(streamed);
            Assert.NotEmpty((await client.ListModelsAsync()).Models);
        }
        // The raw header works in any letter case of the scheme, as RFC 6750 allows.
        Assert.Single((await factory.Client().GenerateAsync(Requests.One(1, 2), Authorization("bearer " + Second))).Images);
        Assert.Equal(7, recorder.GenerationCalls().Count);
    }

    [Fact]
    public async Task HealthAndReflectionNeedNoToken()
    {
        var health = new Health.HealthClient(factory.Channel());
        Assert.Equal(ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest { Service = "var.v1.Generation" })).Status);
        Assert.Equal(ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest { Service = "liveness" })).Status);
        using var client = Client(null);
        Assert.Equal(ServingStatus.Serving, await client.CheckHealthAsync());

        var reflection = new ServerReflection.ServerReflectionClient(factory.Channel());
        using var call = reflection.ServerReflectionInfo();
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" });
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext());
        Assert.Contains("var.v1.Generation", call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name));
        AssertNothingReachedTheServiceOrQueued();
    }

    [Fact]
    public async Task ARotatedSecretAppliesWithoutARestart()
    {
        const string rotated = "rotated-token-00112233445566";
        secret.Update(new Dictionary<string, string> { ["tokens"] = rotated + "\n" });
        using var fresh = Client(rotated);
        var until = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            try
            {
                await fresh.ListModelsAsync();
                break;
            }
            catch (RemoteGenerationException e) when (e.Code == StatusCode.Unauthenticated && DateTime.UtcNow < until)
            {
                await Task.Delay(20);
            }
        }
        using var old = Client(First);
        Assert.Equal(StatusCode.Unauthenticated, (await Assert.ThrowsAsync<RemoteGenerationException>(() => old.ListModelsAsync())).Code);
    }

    [Fact]
    public void BadTokenFilesStopTheStartWithoutNamingTheToken()
    {
        using var folder = new SecretFolder(new Dictionary<string, string> { ["tokens"] = "# only a comment\n\n" });
        TokenStore Store(string path) => new(Microsoft.Extensions.Options.Options.Create(new AuthOptions { TokensPath = path }), NullLogger<TokenStore>.Instance);

        Assert.Contains("no token", Assert.Throws<InvalidOperationException>(() => Store(folder.Root)).Message);
        folder.Update(new Dictionary<string, string> { ["tokens"] = "short-secret\n" });
        var e = Assert.Throws<InvalidOperationException>(() => Store(folder.Root));
        Assert.Contains("at least 16", e.Message);
        Assert.DoesNotContain("short-secret", e.Message);
        Assert.Contains("neither a file nor a folder", Assert.Throws<InvalidOperationException>(() => Store(folder.Root + "-missing")).Message);

        // A plain file works as well as a folder; hidden entries of a folder are not token files.
        var file = Path.Combine(folder.Root, "..plain.txt");
        File.WriteAllText(file, First + "\n");
        Assert.True(Store(file).Accepts(First));
        Assert.False(Store(file).Accepts(Second));
        Assert.Equal(["tokens"], TokenStore.Files(folder.Root).Select(Path.GetFileName));
    }
}
