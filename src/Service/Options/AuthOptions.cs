namespace Var.Service.Options;

/// <summary>The optional bearer-token check (configuration section <c>Var:Auth</c>).</summary>
public sealed class AuthOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Var:Auth";

    /// <summary>Fewest characters a token may have (shorter ones are a configuration mistake, refused at start).</summary>
    public const int MinTokenLength = 16;

    /// <summary>
    /// Where the accepted tokens are: a file with one token a line (blank lines and lines starting with '#' are
    /// skipped), or a folder whose every file (names starting with '.' skipped) is read the same way — a mounted
    /// Kubernetes Secret. Empty (the default) = no token check. When set, every call except health and reflection
    /// needs the metadata <c>authorization: Bearer TOKEN</c> with one of them, else it is refused with
    /// UNAUTHENTICATED before any work is queued.
    /// </summary>
    public string? TokensPath { get; set; }

    /// <summary>Seconds between checks of <see cref="TokensPath"/> for changed content (a rotated secret applies without a restart). 0 = read once at start. Default 10.</summary>
    public double ReloadSeconds { get; set; } = 10;

    /// <summary>True when tokens are checked.</summary>
    public bool Enabled => !string.IsNullOrWhiteSpace(TokensPath);

    /// <summary>Throws <see cref="ArgumentException"/> for an impossible setting.</summary>
    public void Validate()
    {
        if (double.IsNaN(ReloadSeconds) || ReloadSeconds < 0) throw new ArgumentException("Var:Auth:ReloadSeconds must be ≥ 0");
    }
}
