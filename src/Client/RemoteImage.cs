namespace Var.Client;

/// <summary>One image from the server: encoded bytes (PNG/JPEG) or token ids, and everything needed to reproduce it.</summary>
/// <param name="Index">Position in the request.</param>
/// <param name="Seed">Seed that reproduces it.</param>
/// <param name="ClassId">Class id.</param>
/// <param name="ClassName">Class display name.</param>
/// <param name="MimeType">"image/png", "image/jpeg", or empty for tokens.</param>
/// <param name="Data">Encoded image (empty for tokens).</param>
/// <param name="Size">Image side in pixels.</param>
/// <param name="Tokens">Token ids per scale (row-major), when tokens were asked for; else null.</param>
/// <param name="Model">Model that made it.</param>
/// <param name="Decoder">Decoder used.</param>
/// <param name="Cfg">Guidance used.</param>
/// <param name="TopK">Top-k used.</param>
/// <param name="TopP">Top-p used.</param>
/// <param name="MoreSmooth">Whether "more smooth" was on.</param>
/// <param name="QueueMs">Time waiting for its batch on the server.</param>
/// <param name="GenerationMs">Its batch's generation time.</param>
/// <param name="BatchSize">Rows in its batch.</param>
public sealed record RemoteImage(int Index, long Seed, int ClassId, string ClassName, string MimeType, byte[] Data, int Size,
    int[][]? Tokens, string Model, string Decoder, double Cfg, int TopK, double TopP, bool MoreSmooth,
    double QueueMs, double GenerationMs, int BatchSize)
{
    /// <summary>CoDe: scales made by the drafter (0 for other decoders).</summary>
    public int DraftScales { get; init; }

    /// <summary>CoDe: the refiner's guidance when it differs from <see cref="Cfg"/>.</summary>
    public double? RefinerCfg { get; init; }

    /// <summary>TTS-VAR: the budget used (0 for other decoders).</summary>
    public double Budget { get; init; }

    /// <summary>TTS-VAR: the reward used (empty for other decoders).</summary>
    public string Reward { get; init; } = "";
}
