using System.CommandLine;
using Var.Client;

namespace Var.Cli.Commands;

/// <summary>
/// <c>--server</c> and how to reach it: a bearer token (<c>--token-file</c>, $VAR_TOKEN_FILE or $VAR_TOKEN; never a
/// literal on the command line, where every user of the machine can read it) and extra certificates to trust for
/// TLS (<c>--ca-cert</c>, $VAR_CA_CERT). Shared by every command that can run on a generation service.
/// </summary>
internal sealed class ServerArguments(string description)
{
    /// <summary>Environment variable naming a token file.</summary>
    public const string TokenFileVariable = "VAR_TOKEN_FILE";

    /// <summary>Environment variable holding the token itself.</summary>
    public const string TokenVariable = "VAR_TOKEN";

    /// <summary>Environment variable naming a PEM file of certificates to trust.</summary>
    public const string CaCertVariable = "VAR_CA_CERT";

    public readonly Option<string?> Server = new("--server") { Description = description + " Addresses: http://HOST:PORT (cleartext), https://HOST:PORT (TLS), dns:///HOST:PORT (every address of a headless Kubernetes Service, round-robin)." };
    public readonly Option<string?> TokenFile = new("--token-file") { Description = $"With --server: file whose first line is the bearer token for a server that checks tokens (default ${TokenFileVariable}, else the token itself in ${TokenVariable})." };
    public readonly Option<string?> CaCert = new("--ca-cert") { Description = $"With --server: PEM certificates to trust for TLS besides the system's (a private CA or the server's self-signed certificate; default ${CaCertVariable}); makes dns:/// addresses use TLS." };

    public void AddTo(Command cmd)
    {
        foreach (var o in new Option[] { Server, TokenFile, CaCert }) cmd.Options.Add(o);
    }

    /// <summary><paramref name="baseOptions"/> (retries, timeout) with the token and trusted certificates of the command line or the environment.</summary>
    public VarClientOptions ClientOptions(ParseResult pr, VarClientOptions? baseOptions = null) =>
        Resolve(baseOptions ?? new VarClientOptions(), pr.GetValue(TokenFile), pr.GetValue(CaCert), Environment.GetEnvironmentVariable);

    /// <summary>The options for a token file and CA file given on the command line, else taken from <paramref name="environment"/>.</summary>
    public static VarClientOptions Resolve(VarClientOptions options, string? tokenFile, string? caCert, Func<string, string?> environment)
    {
        tokenFile ??= NonEmpty(environment(TokenFileVariable));
        string? token = tokenFile is not null ? VarClientOptions.ReadTokenFile(tokenFile) : NonEmpty(environment(TokenVariable))?.Trim();
        caCert ??= NonEmpty(environment(CaCertVariable));
        if (caCert is not null && !File.Exists(caCert)) throw new FileNotFoundException($"--ca-cert: {caCert} does not exist", caCert);
        return options with { BearerToken = token ?? options.BearerToken, TrustedCertificatesPath = caCert ?? options.TrustedCertificatesPath };
    }

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
