using System.Text.Json.Nodes;

namespace Var.Cli.Commands;

/// <summary>Builds JSON arrays from sequences of nodes.</summary>
internal static class JsonArrayExtensions
{
    public static JsonArray ToJsonArray(this IEnumerable<JsonNode> nodes) => new(nodes.ToArray());
}
