using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Var.Cli.Commands;

namespace Var.Cli.Batch;

/// <summary>
/// Reads a jobs file (JSON lines): every line becomes a <see cref="BatchJob"/> or a <see cref="JobLineError"/> naming
/// its line number; blank lines are skipped. Only the line's own shape is checked here (JSON, field names and types,
/// counts); what depends on a model is checked by an <see cref="IJobResolver"/>.
/// </summary>
internal static class JobFileReader
{
    /// <summary>Most images one job line may ask for.</summary>
    public const int MaxImagesPerJob = 1_000_000;

    private static readonly HashSet<string> Known =
    [
        "model", "class", "class_id", "class_name", "count", "seed", "seeds", "cfg", "top_k", "top_p", "more_smooth",
        "decoder", "draft_scales", "refiner", "refiner_model", "refiner_transformer", "refiner_cfg", "temperatures",
        "budget", "reward", "lambda", "cluster_scales", "resample_scales", "potential", "features", "final_draws", "resample_draws", "steps_per_scale",
        "name", "image", "mask", "box", "mode", "feather",
    ];

    /// <summary>Reads <paramref name="path"/>; relative image and mask paths are taken from its folder.</summary>
    public static (List<BatchJob> Jobs, List<JobLineError> Errors) Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"jobs file {path}: no such file", path);
        return Parse(File.ReadAllLines(path), Path.GetDirectoryName(Path.GetFullPath(path))!);
    }

    /// <summary>Parses jobs-file lines; <paramref name="folder"/> anchors relative paths.</summary>
    public static (List<BatchJob> Jobs, List<JobLineError> Errors) Parse(IReadOnlyList<string> lines, string folder)
    {
        var jobs = new List<BatchJob>();
        var errors = new List<JobLineError>();
        for (int i = 0; i < lines.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(lines[i])) continue;
            try
            {
                jobs.Add(ParseLine(lines[i], i + 1, folder));
            }
            catch (JsonException e)
            {
                errors.Add(new JobLineError(i + 1, $"not a JSON object: {e.Message.Split(" Path:")[0].Split(" LineNumber:")[0]}"));
            }
            catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException or FileNotFoundException)
            {
                errors.Add(new JobLineError(i + 1, e.Message));
            }
        }
        return (jobs, errors);
    }

    private static BatchJob ParseLine(string text, int line, string folder)
    {
        if (JsonNode.Parse(text) is not JsonObject o) throw new ArgumentException("a job line is a JSON object");
        foreach (var key in o.Select(kv => kv.Key))
            if (!Known.Contains(key)) throw new ArgumentException($"unknown field '{key}' (known: {string.Join(", ", Known)})");

        // "class" is an id or a name; the proto's class_id / class_name work too.
        string? cls = o["class"] is JsonValue v && v.TryGetValue(out int classNumber) ? classNumber.ToString(CultureInfo.InvariantCulture)
            : Text(o, "class") ?? Text(o, "class_name") ?? (o["class_id"] is { } id ? Integer(id, "class_id").ToString(CultureInfo.InvariantCulture) : null);

        IReadOnlyList<long> seeds;
        if (o["seeds"] is { } list)
        {
            if (list is not JsonArray array || array.Count == 0) throw new ArgumentException("'seeds' is a non-empty list of integers");
            seeds = array.Select(s => Long(s, "seeds")).ToArray();
            if (o["count"] is { } c && Integer(c, "count") != seeds.Count) throw new ArgumentException($"'count' {Integer(c, "count")} differs from the {seeds.Count} seeds");
            if (o["seed"] is not null) throw new ArgumentException("give 'seed' or 'seeds', not both");
        }
        else
        {
            int count = o["count"] is { } c ? Integer(c, "count") : 1;
            if (count < 1 || count > MaxImagesPerJob) throw new ArgumentException($"'count' must be in 1..{MaxImagesPerJob}");
            long seed = o["seed"] is { } s ? Long(s, "seed") : 0;
            seeds = Enumerable.Range(0, count).Select(i => seed + i).ToArray();
        }
        if (seeds.Distinct().Count() != seeds.Count) throw new ArgumentException("'seeds' repeats a seed");

        string? image = Text(o, "image") is { } img ? Path.GetFullPath(img, folder) : null;
        string? mask = Text(o, "mask") is { } m ? Path.GetFullPath(m, folder) : null;
        string? box = o["box"] switch
        {
            null => null,
            JsonArray a when a.Count == 4 => string.Join(",", a.Select(x => Number(x, "box").ToString("R", CultureInfo.InvariantCulture))),
            JsonValue s when s.TryGetValue(out string? boxText) => boxText,
            _ => throw new ArgumentException("'box' is [x0, y0, x1, y1] or \"x0,y0,x1,y1\""),
        };
        string? mode = Text(o, "mode");
        int feather = o["feather"] is { } f ? Integer(f, "feather") : 0;
        if (image is null && (mask is not null || box is not null || mode is not null || o["feather"] is not null))
            throw new ArgumentException("'mask', 'box', 'mode' and 'feather' belong to an edit job, which names its 'image'");
        if (image is null && cls is null) throw new ArgumentException("a job names its 'class' (an id or a name)");
        if (image is not null) EditInput.Check(image, mask, box, mode, cls);

        string? name = Text(o, "name");
        if (name is not null && (name.Length == 0 || name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || name.StartsWith('.')))
            throw new ArgumentException($"'name' '{name}' is not a plain file name");

        return new BatchJob
        {
            Line = line,
            Source = o,
            Model = Text(o, "model"),
            Class = cls,
            Seeds = seeds,
            Cfg = o["cfg"] is { } cfg ? Number(cfg, "cfg") : null,
            TopK = o["top_k"] is { } k ? Integer(k, "top_k") : null,
            TopP = o["top_p"] is { } p ? Number(p, "top_p") : null,
            MoreSmooth = o["more_smooth"] is { } ms && Bool(ms, "more_smooth"),
            Decoder = Decoder(o),
            Name = name,
            Image = image,
            Mask = mask,
            Box = box,
            Mode = mode,
            Feather = feather,
        };
    }

    // Flat CLI-style settings ("decoder": "code", "draft_scales": 3) or the proto's oneof ("decoder": {"code": {...}}).
    private static DecoderChoice Decoder(JsonObject o)
    {
        JsonObject settings = o;
        string? kind = null; // none named: the model's default decoder
        switch (o["decoder"])
        {
            case null: break;
            case JsonValue v when v.TryGetValue(out string? name): kind = name; break;
            case JsonObject nested when nested.Count == 1 && nested.First().Value is JsonObject inner:
                kind = nested.First().Key;
                settings = inner;
                foreach (var key in inner.Select(kv => kv.Key))
                    if (key is not ("draft_scales" or "refiner" or "refiner_model" or "refiner_transformer" or "refiner_cfg" or "temperatures"
                        or "budget" or "reward" or "lambda" or "cluster_scales" or "resample_scales" or "potential" or "features" or "final_draws" or "resample_draws" or "steps_per_scale"))
                        throw new ArgumentException($"unknown decoder setting '{key}'");
                break;
            default: throw new ArgumentException("'decoder' is a name (\"var\", \"code\") or {\"code\": {settings}}");
        }
        return new DecoderChoice
        {
            Kind = kind,
            DraftScales = settings["draft_scales"] is { } n ? Integer(n, "draft_scales") : null,
            Refiner = Text(settings, "refiner") ?? Text(settings, "refiner_model") ?? Text(settings, "refiner_transformer"),
            RefinerCfg = settings["refiner_cfg"] is { } c ? Number(c, "refiner_cfg") : null,
            Temperatures = settings["temperatures"] is JsonArray t ? t.Select(x => Number(x, "temperatures")).ToArray()
                : settings["temperatures"] is null ? null : throw new ArgumentException("'temperatures' is a list of numbers"),
            Budget = settings["budget"] is { } b ? Number(b, "budget") : null,
            Reward = Text(settings, "reward"),
            Lambda = settings["lambda"] is { } l ? Number(l, "lambda") : null,
            ClusterScales = Scales(settings, "cluster_scales"),
            ResampleScales = Scales(settings, "resample_scales"),
            Potential = Text(settings, "potential"),
            Features = Text(settings, "features"),
            FinalDraws = settings["final_draws"] is { } d ? Integer(d, "final_draws") : null,
            ResampleDraws = settings["resample_draws"] is { } rd ? Integer(rd, "resample_draws") : null,
            Steps = Scales(settings, "steps_per_scale"),
            FieldNames = true,
        };
    }

    private static int[]? Scales(JsonObject o, string key) => o[key] switch
    {
        null => null,
        JsonArray a => a.Select(x => Integer(x, key)).ToArray(),
        _ => throw new ArgumentException($"'{key}' is a list of scale indices"),
    };

    private static string? Text(JsonObject o, string key) => o[key] switch
    {
        null => null,
        JsonValue v when v.TryGetValue(out string? s) => s,
        _ => throw new ArgumentException($"'{key}' is a string"),
    };

    private static int Integer(JsonNode? node, string key) =>
        node is JsonValue v && v.TryGetValue(out int i) ? i : throw new ArgumentException($"'{key}' is an integer, got {node?.ToJsonString() ?? "null"}");

    private static long Long(JsonNode? node, string key) =>
        node is JsonValue v && v.TryGetValue(out long i) ? i : throw new ArgumentException($"'{key}' holds integers, got {node?.ToJsonString() ?? "null"}");

    private static double Number(JsonNode? node, string key) =>
        node is JsonValue v && v.TryGetValue(out double d) ? d : throw new ArgumentException($"'{key}' is a number, got {node?.ToJsonString() ?? "null"}");

    private static bool Bool(JsonNode? node, string key) =>
        node is JsonValue v && v.TryGetValue(out bool b) ? b : throw new ArgumentException($"'{key}' is true or false");
}
