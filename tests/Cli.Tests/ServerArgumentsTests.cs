using Var.Client;

namespace Var.Cli.Tests;

/// <summary>How every --server command finds its bearer token and the certificates to trust: flag, then environment.</summary>
public sealed class ServerArgumentsTests : IDisposable
{
    private readonly BatchFolder folder = new();

    [Fact]
    public void TheTokenComesFromTheFlagThenTheFileVariableThenTheTokenVariable()
    {
        var flagFile = folder.PathOf("flag-token");
        File.WriteAllText(flagFile, "# comment\n\n  flag-token-0123456789  \nsecond-line-ignored\n");
        var envFile = folder.PathOf("env-token");
        File.WriteAllText(envFile, "env-file-token-0123456789\n");
        var env = new Dictionary<string, string> { ["VAR_TOKEN_FILE"] = envFile, ["VAR_TOKEN"] = " env-token-0123456789 " };
        var none = new Dictionary<string, string>();

        Assert.Equal("flag-token-0123456789", ServerArguments.Resolve(new VarClientOptions(), flagFile, null, env.GetValueOrDefault).BearerToken);
        Assert.Equal("env-file-token-0123456789", ServerArguments.Resolve(new VarClientOptions(), null, null, env.GetValueOrDefault).BearerToken);
        env.Remove("VAR_TOKEN_FILE");
        Assert.Equal("env-token-0123456789", ServerArguments.Resolve(new VarClientOptions(), null, null, env.GetValueOrDefault).BearerToken);
        Assert.Null(ServerArguments.Resolve(new VarClientOptions(), null, null, none.GetValueOrDefault).BearerToken);

        // The retry and timeout settings of the command survive.
        var resolved = ServerArguments.Resolve(new VarClientOptions { MaxAttempts = 3, Timeout = TimeSpan.FromSeconds(7) }, flagFile, null, none.GetValueOrDefault);
        Assert.Equal((3, TimeSpan.FromSeconds(7)), (resolved.MaxAttempts, resolved.Timeout!.Value));

        var empty = folder.PathOf("empty");
        File.WriteAllText(empty, "# nothing\n");
        Assert.Throws<InvalidDataException>(() => ServerArguments.Resolve(new VarClientOptions(), empty, null, none.GetValueOrDefault));
    }

    [Fact]
    public void TheCaCertificateComesFromTheFlagOrTheVariableAndMustExist()
    {
        var ca = folder.PathOf("ca.crt");
        File.WriteAllText(ca, "-----BEGIN CERTIFICATE-----\n");
        var env = new Dictionary<string, string> { ["VAR_CA_CERT"] = ca };
        Assert.Equal(ca, ServerArguments.Resolve(new VarClientOptions(), null, null, env.GetValueOrDefault).TrustedCertificatesPath);
        Assert.Equal(ca, ServerArguments.Resolve(new VarClientOptions(), null, ca, new Dictionary<string, string>().GetValueOrDefault).TrustedCertificatesPath);
        Assert.Throws<FileNotFoundException>(() => ServerArguments.Resolve(new VarClientOptions(), null, folder.PathOf("missing.crt"), env.GetValueOrDefault));
    }

    /// <inheritdoc />
    public void Dispose() => folder.Dispose();
}
