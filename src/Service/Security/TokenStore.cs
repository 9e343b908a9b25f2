using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Var.Service.Options;

namespace Var.Service.Security;

/// <summary>
/// The accepted bearer tokens (<see cref="AuthOptions.TokensPath"/>): a file with one token a line or a folder of
/// such files (a mounted Kubernetes Secret), re-read when their content changes. Only SHA-256 hashes are kept, and a
/// presented token is compared with every one of them in constant time, so neither the answer's timing nor a memory
/// dump gives a token away.
/// </summary>
public sealed class TokenStore
{
    private readonly ReloadingFiles<byte[][]>? hashes;

    /// <summary>Reads the tokens now when a path is configured; throws <see cref="InvalidOperationException"/> naming the problem otherwise.</summary>
    public TokenStore(IOptions<AuthOptions> options, ILogger<TokenStore> logger)
    {
        var o = options.Value;
        if (!o.Enabled) return;
        var path = Path.GetFullPath(o.TokensPath!);
        try
        {
            hashes = new ReloadingFiles<byte[][]>("bearer tokens", () => Files(path), Read, TimeSpan.FromSeconds(o.ReloadSeconds), logger);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            throw new InvalidOperationException($"Var:Auth:TokensPath: {e.Message}", e);
        }
        logger.LogInformation("Bearer tokens required: {Count} accepted token(s) from {Path}", hashes.Current.Length, path);
    }

    /// <summary>True when calls need a token.</summary>
    public bool Enabled => hashes is not null;

    /// <summary>Whether <paramref name="token"/> is one of the accepted tokens (always false when none are configured).</summary>
    public bool Accepts(string token)
    {
        if (hashes is null) return false;
        Span<byte> presented = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(token), presented);
        int match = 0;
        foreach (var hash in hashes.Current) match |= CryptographicOperations.FixedTimeEquals(presented, hash) ? 1 : 0;
        return match == 1;
    }

    /// <summary>The token files under <paramref name="path"/>: the file itself, or a folder's files whose names do not start with '.'.</summary>
    public static IReadOnlyList<string> Files(string path)
    {
        if (File.Exists(path)) return [path];
        if (!Directory.Exists(path)) throw new FileNotFoundException($"'{path}' is neither a file nor a folder", path);
        // A mounted Secret holds KEY -> ..data/KEY symlinks beside the hidden ..data and ..<timestamp> entries.
        return Directory.EnumerateFiles(path).Where(f => !Path.GetFileName(f).StartsWith('.')).Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>The SHA-256 hashes of the tokens in <paramref name="files"/>; throws <see cref="InvalidDataException"/> for a malformed or missing token list.</summary>
    public static byte[][] Read(IReadOnlyList<string> files)
    {
        var hashes = new List<byte[]>();
        foreach (var file in files)
        {
            int number = 0;
            foreach (var raw in File.ReadLines(file))
            {
                number++;
                var line = raw.Trim();
                if (line.Length == 0 || line.StartsWith('#')) continue;
                // The token itself is never put into a message.
                if (line.Length < AuthOptions.MinTokenLength) throw new InvalidDataException($"{file}:{number}: a token needs at least {AuthOptions.MinTokenLength} characters");
                if (line.Any(char.IsWhiteSpace)) throw new InvalidDataException($"{file}:{number}: a token may not contain white space");
                hashes.Add(SHA256.HashData(Encoding.UTF8.GetBytes(line)));
            }
        }
        if (hashes.Count == 0) throw new InvalidDataException($"no token in {string.Join(", ", files.DefaultIfEmpty("(no files)"))}");
        return hashes.ToArray();
    }
}
