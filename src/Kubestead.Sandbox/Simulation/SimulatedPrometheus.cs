using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Kubestead.Sandbox.Simulation;

/// <summary>
/// Answers Prometheus instant queries (<c>/api/v1/query</c>) from the simulated traffic, so a driver outside the
/// sandbox process (`kubestead start`, the cmdlets) judges the same counts the in-process demo does. It understands the
/// query shapes Kubestead's providers send, a bare <c>metric{matchers}</c> (every series), <c>sum(metric{matchers})</c> and <c>sum by (le) (metric{matchers})</c>
/// with <c>=</c>, <c>!=</c>, <c>=~</c> and <c>!~</c> matchers; anything else is answered with Prometheus's bad_data error.
/// </summary>
public sealed partial class SimulatedPrometheus(Func<DateTimeOffset, string> expositionAt, TimeProvider clock)
{
    /// <summary>The JSON body Prometheus would send for <paramref name="query"/> at <paramref name="time"/> (unix seconds; null: now).</summary>
    public (int Status, string Body) Query(string? query, string? time)
    {
        if (string.IsNullOrWhiteSpace(query)) return BadData("parameter \"query\" is required");
        var at = clock.GetUtcNow();
        if (!string.IsNullOrEmpty(time))
        {
            if (!double.TryParse(time, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds))
                return BadData($"cannot parse \"{time}\" to a valid timestamp");
            at = DateTimeOffset.FromUnixTimeMilliseconds((long)Math.Round(seconds * 1000));
        }
        var m = QueryShape().Match(query.Trim());
        // A bare selector returns every matching series with all its labels (the builtin queries difference each
        // series on its own); sum(...) and sum by (...) (...) add them up as Prometheus would.
        var bare = !m.Success;
        if (bare) m = BareSelector().Match(query.Trim());
        if (!m.Success)
            return BadData("the sandbox answers only metric{...}, sum(metric{...}) and sum by (le) (metric{...})");
        var by = m.Groups["by"].Success ? m.Groups["by"].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) : [];
        var matchers = new List<(string Label, string Op, string Value)>();
        foreach (Match mm in Matcher().Matches(m.Groups["matchers"].Value))
            matchers.Add((mm.Groups["label"].Value, mm.Groups["op"].Value, Regex.Unescape(mm.Groups["value"].Value)));

        var groups = new Dictionary<string, (JsonObject Labels, double Sum)>(StringComparer.Ordinal);
        foreach (var (name, labels, value) in Parse(expositionAt(at)))
        {
            if (name != m.Groups["metric"].Value || !matchers.All(x => Matches(labels, x))) continue;
            var keyLabels = bare ? labels.Keys.Order(StringComparer.Ordinal).ToArray() : by;
            var key = string.Join("\u0001", keyLabels.Select(b => b + "=" + labels.GetValueOrDefault(b, "")));
            var groupLabels = new JsonObject();
            if (bare) groupLabels["__name__"] = name;
            foreach (var b in keyLabels)
                if (labels.TryGetValue(b, out var v)) groupLabels[b] = v;
            groups[key] = groups.TryGetValue(key, out var g) ? (g.Labels, g.Sum + value) : (groupLabels, value);
        }
        var stamp = at.ToUnixTimeMilliseconds() / 1000.0;
        var result = new JsonArray(groups.Values.Select(g => (JsonNode?)new JsonObject
        {
            ["metric"] = g.Labels,
            ["value"] = new JsonArray(stamp, g.Sum.ToString(CultureInfo.InvariantCulture)),
        }).ToArray());
        return (200, new JsonObject
        {
            ["status"] = "success",
            ["data"] = new JsonObject { ["resultType"] = "vector", ["result"] = result },
        }.ToJsonString());
    }

    private static bool Matches(IReadOnlyDictionary<string, string> labels, (string Label, string Op, string Value) m)
    {
        var actual = labels.GetValueOrDefault(m.Label, "");
        return m.Op switch
        {
            "=" => actual == m.Value,
            "!=" => actual != m.Value,
            "=~" => Regex.IsMatch(actual, $"^(?:{m.Value})$"),
            _ => !Regex.IsMatch(actual, $"^(?:{m.Value})$"),
        };
    }

    private static IEnumerable<(string Name, Dictionary<string, string> Labels, double Value)> Parse(string exposition)
    {
        foreach (var line in exposition.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#') continue;
            var m = SeriesLine().Match(line);
            if (!m.Success) continue;
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (Match l in Matcher().Matches(m.Groups["labels"].Value)) labels[l.Groups["label"].Value] = l.Groups["value"].Value;
            yield return (m.Groups["name"].Value, labels, double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture));
        }
    }

    private static (int, string) BadData(string error) =>
        (400, new JsonObject { ["status"] = "error", ["errorType"] = "bad_data", ["error"] = error }.ToJsonString());

    [GeneratedRegex("""^sum\s*(?:by\s*\((?<by>[^)]*)\)\s*)?\(\s*(?<metric>[a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{(?<matchers>[^}]*)\})?\s*\)$""")]
    private static partial Regex QueryShape();

    [GeneratedRegex("""^(?<metric>[a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{(?<matchers>[^}]*)\})?$""")]
    private static partial Regex BareSelector();

    [GeneratedRegex("""(?<label>[a-zA-Z_][a-zA-Z0-9_]*)\s*(?<op>=~|!~|!=|=)\s*"(?<value>(?:[^"\\]|\\.)*)"\s*,?""")]
    private static partial Regex Matcher();

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?<labels>[^}]*)\})?\s+(?<value>\S+)$""")]
    private static partial Regex SeriesLine();
}
