using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;

namespace Var.Service.Security;

/// <summary>
/// A value read from a few files (tokens, a certificate) that is read again when their content changes, checked at
/// most once per interval on the caller's thread. Content, not timestamps, is compared: a Kubernetes Secret is
/// replaced by swapping a symlink, which leaves the visible file names and often their times unchanged. A reload
/// that fails keeps the previous value (logged), so a half-written rotation never locks everyone out.
/// </summary>
/// <typeparam name="T">The value built from the files.</typeparam>
public sealed class ReloadingFiles<T> where T : class
{
    private readonly Func<IReadOnlyList<string>> list;
    private readonly Func<IReadOnlyList<string>, T> load;
    private readonly long intervalTicks;
    private readonly ILogger logger;
    private readonly string what;
    private volatile Loaded current;
    private long nextCheck;
    private int checking;

    /// <summary>Reads the value now; throws what <paramref name="load"/> throws (a bad setting stops the start).</summary>
    /// <param name="what">Names the value in log lines.</param>
    /// <param name="list">The files that make up the value (listed again at every check: a folder may gain files).</param>
    /// <param name="load">Builds the value from the listed files.</param>
    /// <param name="interval">Time between checks; zero or less = never reload.</param>
    /// <param name="logger">Reloads and failed reloads are logged here.</param>
    public ReloadingFiles(string what, Func<IReadOnlyList<string>> list, Func<IReadOnlyList<string>, T> load, TimeSpan interval, ILogger logger)
    {
        this.what = what;
        this.list = list;
        this.load = load;
        this.logger = logger;
        intervalTicks = interval > TimeSpan.Zero ? (long)(interval.TotalSeconds * Stopwatch.Frequency) : 0;
        var files = list();
        current = new Loaded(load(files), Fingerprint(files));
        nextCheck = Stopwatch.GetTimestamp() + intervalTicks;
    }

    /// <summary>The value, read again first if the interval has passed and the files' content changed.</summary>
    public T Current
    {
        get
        {
            if (intervalTicks > 0) MaybeReload();
            return current.Value;
        }
    }

    /// <summary>Times the value was replaced since the start.</summary>
    public int Reloads { get; private set; }

    private void MaybeReload()
    {
        long now = Stopwatch.GetTimestamp();
        if (now < Volatile.Read(ref nextCheck) || Interlocked.Exchange(ref checking, 1) == 1) return;
        try
        {
            Volatile.Write(ref nextCheck, now + intervalTicks);
            var files = list();
            var fingerprint = Fingerprint(files);
            if (fingerprint.AsSpan().SequenceEqual(current.Fingerprint)) return;
            current = new Loaded(load(files), fingerprint);
            Reloads++;
            logger.LogInformation("Reloaded {What} from {Files}", what, string.Join(", ", files));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or InvalidDataException or ArgumentException)
        {
            logger.LogWarning("Could not reload {What}; keeping the previous one: {Error}", what, e.Message);
        }
        finally
        {
            Volatile.Write(ref checking, 0);
        }
    }

    /// <summary>SHA-256 over the names and contents of <paramref name="files"/>.</summary>
    public static byte[] Fingerprint(IReadOnlyList<string> files)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var file in files)
        {
            hash.AppendData(Encoding.UTF8.GetBytes(file + "\0"));
            hash.AppendData(File.ReadAllBytes(file));
            hash.AppendData([0]);
        }
        return hash.GetHashAndReset();
    }

    private sealed record Loaded(T Value, byte[] Fingerprint);
}
