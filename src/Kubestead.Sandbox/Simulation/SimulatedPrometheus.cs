using System.Globalization;
using System.Text.Json.Nodes;

namespace Kubestead.Sandbox.Simulation;

/// <summary>
/// Answers Prometheus instant and range queries (<c>/api/v1/query</c>, <c>/api/v1/query_range</c>) from the simulated traffic, so a driver outside the
/// sandbox process (`kubestead start`, the cmdlets) judges the same counts the in-process demo does. Queries are read by
/// <see cref="PromQlParser"/>: a selector (every matching series with its labels), <c>rate</c>/<c>increase</c> over a
/// range (exact differences of the simulated counters, without Prometheus's extrapolation), and <c>sum</c> with an
/// optional <c>by (...)</c>; anything else is answered with Prometheus's bad_data error, saying what is not supported.
/// </summary>
public sealed class SimulatedPrometheus(Func<DateTimeOffset, string> expositionAt, TimeProvider clock)
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
        PromQlQuery parsed;
        try
        {
            parsed = PromQlParser.Parse(query);
        }
        catch (PromQlNotSupportedException e)
        {
            return BadData(e.Message);
        }
        var stamp = at.ToUnixTimeMilliseconds() / 1000.0;
        var result = new JsonArray(Evaluate(parsed, at).Select(g => (JsonNode?)new JsonObject
        {
            ["metric"] = g.Labels,
            ["value"] = new JsonArray(stamp, g.Value.ToString(CultureInfo.InvariantCulture)),
        }).ToArray());
        return (200, new JsonObject
        {
            ["status"] = "success",
            ["data"] = new JsonObject { ["resultType"] = "vector", ["result"] = result },
        }.ToJsonString());
    }

    /// <summary>
    /// The JSON body Prometheus would send for a range query (<c>/api/v1/query_range</c>): the query evaluated at
    /// <paramref name="start"/>, start + step, ... up to <paramref name="end"/>, each series with its
    /// <c>[time, "value"]</c> points (a matrix), as Prometheus evaluates a range query step by step.
    /// </summary>
    public (int Status, string Body) QueryRange(string? query, string? start, string? end, string? step)
    {
        if (string.IsNullOrWhiteSpace(query)) return BadData("parameter \"query\" is required");
        if (!TryTime(start, out var from)) return BadData($"cannot parse \"{start}\" to a valid timestamp");
        if (!TryTime(end, out var to)) return BadData($"cannot parse \"{end}\" to a valid timestamp");
        if (!double.TryParse(step, NumberStyles.Float, CultureInfo.InvariantCulture, out var stepSeconds) || stepSeconds <= 0)
            return BadData("zero or negative query resolution step widths are not accepted. Try a positive integer");
        if (to < from) return BadData("end timestamp must not be before start time");
        if ((to - from).TotalSeconds / stepSeconds > 11_000)
            return BadData("exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)");
        PromQlQuery parsed;
        try
        {
            parsed = PromQlParser.Parse(query);
        }
        catch (PromQlNotSupportedException e)
        {
            return BadData(e.Message);
        }
        var series = new Dictionary<string, (JsonObject Labels, JsonArray Values)>(StringComparer.Ordinal);
        var stepMs = (long)Math.Round(stepSeconds * 1000);
        for (var atMs = from.ToUnixTimeMilliseconds(); atMs <= to.ToUnixTimeMilliseconds(); atMs += stepMs)
        {
            var at = DateTimeOffset.FromUnixTimeMilliseconds(atMs);
            foreach (var (labels, value) in Evaluate(parsed, at))
            {
                var key = labels.ToJsonString();
                if (!series.TryGetValue(key, out var s)) series[key] = s = (labels, new JsonArray());
                s.Values.Add((JsonNode)new JsonArray(atMs / 1000.0, value.ToString(CultureInfo.InvariantCulture)));
            }
        }
        var result = new JsonArray(series.Values.Select(s => (JsonNode?)new JsonObject { ["metric"] = s.Labels, ["values"] = s.Values }).ToArray());
        return (200, new JsonObject
        {
            ["status"] = "success",
            ["data"] = new JsonObject { ["resultType"] = "matrix", ["result"] = result },
        }.ToJsonString());
    }

    private static bool TryTime(string? text, out DateTimeOffset at)
    {
        at = default;
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds)) return false;
        at = DateTimeOffset.FromUnixTimeMilliseconds((long)Math.Round(seconds * 1000));
        return true;
    }

    private IEnumerable<(JsonObject Labels, double Value)> Evaluate(PromQlQuery query, DateTimeOffset at)
    {
        var series = Select(query.Selector, at);
        if (query.Range is { } range)
        {
            var before = Select(query.Selector, at - range).ToDictionary(s => Key(s.Labels), s => s.Value, StringComparer.Ordinal);
            // A counter that dropped was reset: it served its end value since. A series born inside the range counts from zero.
            series = series.Select(s =>
            {
                var old = before.GetValueOrDefault(Key(s.Labels));
                var increase = s.Value >= old ? s.Value - old : s.Value;
                return (s.Labels, query.Function == "rate" ? increase / range.TotalSeconds : increase);
            }).ToList();
        }
        if (query.SumBy is not { } by)
            return series.Select(s =>
            {
                var labels = new JsonObject();
                // A function's result drops the metric name, as Prometheus's does.
                if (query.Function is null) labels["__name__"] = query.Selector.Metric;
                foreach (var (k, v) in s.Labels.OrderBy(l => l.Key, StringComparer.Ordinal)) labels[k] = v;
                return (labels, s.Value);
            });
        var groups = new Dictionary<string, (JsonObject Labels, double Sum)>(StringComparer.Ordinal);
        foreach (var (labels, value) in series)
        {
            var key = string.Join("\u0001", by.Select(b => b + "=" + labels.GetValueOrDefault(b, "")));
            if (groups.TryGetValue(key, out var g))
            {
                groups[key] = (g.Labels, g.Sum + value);
                continue;
            }
            var groupLabels = new JsonObject();
            foreach (var b in by)
                if (labels.TryGetValue(b, out var v)) groupLabels[b] = v;
            groups[key] = (groupLabels, value);
        }
        return groups.Values.Select(g => (g.Labels, g.Sum));
    }

    private List<(Dictionary<string, string> Labels, double Value)> Select(PromQlSelector selector, DateTimeOffset at)
    {
        var selected = new List<(Dictionary<string, string>, double)>();
        foreach (var line in expositionAt(at).Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#') continue;
            var (name, labels, value) = PromQlParser.ParseSeriesLine(line);
            if (selector.Matches(name, labels)) selected.Add((labels, value));
        }
        return selected;
    }

    private static string Key(IReadOnlyDictionary<string, string> labels) =>
        string.Join("\u0001", labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => l.Key + "=" + l.Value));

    private static (int, string) BadData(string error) =>
        (400, new JsonObject { ["status"] = "error", ["errorType"] = "bad_data", ["error"] = error }.ToJsonString());
}
