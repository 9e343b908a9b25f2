using System.Text.RegularExpressions;

namespace Var.Deploy.Tests;

/// <summary>
/// A Dockerfile read the way BuildKit reads one: comments and line continuations, global ARGs before the first FROM
/// (their defaults substituted into FROM lines), stages with their instructions.
/// </summary>
public sealed partial class Dockerfile
{
    /// <summary>One instruction: its keyword (upper case) and the rest of its (joined) line.</summary>
    public sealed record Instruction(string Keyword, string Arguments);

    /// <summary>One stage: its base image (ARGs substituted), its name, its instructions.</summary>
    public sealed record Stage(string From, string? Name, IReadOnlyList<Instruction> Instructions)
    {
        /// <summary>The instructions with <paramref name="keyword"/>.</summary>
        public IEnumerable<Instruction> All(string keyword) => Instructions.Where(i => i.Keyword == keyword);

        /// <summary>The last instruction with <paramref name="keyword"/> (the one in force), or null.</summary>
        public Instruction? Last(string keyword) => All(keyword).LastOrDefault();
    }

    /// <summary>Global ARG defaults.</summary>
    public IReadOnlyDictionary<string, string> GlobalArgs { get; }

    /// <summary>The stages in order.</summary>
    public IReadOnlyList<Stage> Stages { get; }

    private Dockerfile(IReadOnlyDictionary<string, string> args, IReadOnlyList<Stage> stages)
    {
        GlobalArgs = args;
        Stages = stages;
    }

    /// <summary>Parses <paramref name="text"/>.</summary>
    public static Dockerfile Parse(string text)
    {
        var lines = new List<string>();
        var current = "";
        foreach (var raw in text.Replace("\r\n", "\n").Split('\n'))
        {
            var line = raw.TrimEnd();
            if (current.Length == 0 && (line.TrimStart().StartsWith('#') || line.Trim().Length == 0)) continue;
            if (current.Length > 0 && line.TrimStart().StartsWith('#')) continue; // comment lines inside a continuation
            if (line.EndsWith('\\'))
            {
                current += line[..^1] + " ";
                continue;
            }
            lines.Add((current + line).Trim());
            current = "";
        }
        if (current.Length > 0) lines.Add(current.Trim());

        var globals = new Dictionary<string, string>(StringComparer.Ordinal);
        var stages = new List<Stage>();
        List<Instruction>? instructions = null;
        foreach (var line in lines)
        {
            var m = InstructionPattern().Match(line);
            if (!m.Success) throw new FormatException($"not an instruction: {line}");
            var keyword = m.Groups[1].Value.ToUpperInvariant();
            var rest = m.Groups[2].Value.Trim();
            if (keyword == "FROM")
            {
                var parts = rest.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                var image = Substitute(parts[0], globals);
                string? name = parts.Length == 3 && parts[1].Equals("AS", StringComparison.OrdinalIgnoreCase) ? parts[2] : null;
                instructions = [];
                stages.Add(new Stage(image, name, instructions));
                continue;
            }
            if (instructions is null)
            {
                if (keyword != "ARG") throw new FormatException($"{keyword} before the first FROM");
                var eq = rest.IndexOf('=');
                globals[eq < 0 ? rest : rest[..eq]] = eq < 0 ? "" : rest[(eq + 1)..];
                continue;
            }
            instructions.Add(new Instruction(keyword, rest));
        }
        return new Dockerfile(globals, stages);
    }

    /// <summary>${NAME} and $NAME replaced from <paramref name="args"/>.</summary>
    public static string Substitute(string text, IReadOnlyDictionary<string, string> args) =>
        VariablePattern().Replace(text, m => args.TryGetValue(m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value, out var v) ? v : m.Value);

    /// <summary>The strings of an exec-form (JSON array) argument, e.g. CMD ["a", "b"].</summary>
    public static string[] ExecForm(string arguments)
    {
        var start = arguments.IndexOf('[');
        Assert.True(start >= 0, $"not exec form: {arguments}");
        return System.Text.Json.JsonSerializer.Deserialize<string[]>(arguments[start..])!;
    }

    [GeneratedRegex(@"^([A-Za-z]+)\s+(.*)$")]
    private static partial Regex InstructionPattern();

    [GeneratedRegex(@"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")]
    private static partial Regex VariablePattern();
}
