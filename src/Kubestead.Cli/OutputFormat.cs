using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Kubestead.Analysis;
using Kubestead.Reports;
using Kubestead.Rollouts;
using Kubestead.Rollouts.State;

namespace Kubestead.Cli;

/// <summary>How results look: one JSON document with --output json, kubectl-like text otherwise.</summary>
public static class OutputFormat
{
    public static readonly JsonSerializerOptions Json = WithEnums(new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        TypeInfoResolver = CliJsonContext.Default,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    });

    private static JsonSerializerOptions WithEnums(JsonSerializerOptions options)
    {
        foreach (var converter in CliJsonContext.CamelCaseEnums) options.Converters.Add(converter);
        return options;
    }

    /// <summary>A result object as --output json prints it, through source-generated metadata (no reflection).</summary>
    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, (JsonTypeInfo<T>)Json.GetTypeInfo(typeof(T)));

    /// <summary>The rollout document of --output json: name, namespace, phase, steps, weights, analysis verdicts with counts, history.</summary>
    public static JsonObject RolloutDocument(RolloutResult r)
    {
        var doc = new JsonObject
        {
            ["name"] = r.Name,
            ["namespace"] = r.Namespace,
            ["phase"] = Camel(r.Phase.ToString()),
            ["pauseReason"] = r.PauseReason is { } p ? Camel(p.ToString()) : null,
            ["message"] = r.Message,
            ["meshProvider"] = r.MeshProvider,
            ["steps"] = new JsonObject { ["index"] = r.StepIndex, ["count"] = r.StepCount, ["current"] = r.CurrentStep },
            ["weights"] = r.BaselineWeight is { } baseline
                ? new JsonObject { ["stable"] = r.StableWeight, ["canary"] = r.CanaryWeight, ["baseline"] = baseline }
                : new JsonObject { ["stable"] = r.StableWeight, ["canary"] = r.CanaryWeight },
            ["analysis"] = new JsonArray(r.Verdicts.Select(v => (JsonNode?)VerdictDocument(v)).ToArray()),
            ["analysisState"] = r.AnalysisState,
            ["background"] = new JsonArray(r.BackgroundVerdicts.Select(v => (JsonNode?)VerdictDocument(v)).ToArray()),
            ["warmup"] = new JsonObject
            {
                ["active"] = r.WarmingUp,
                ["from"] = r.WarmupFrom?.ToString("o", CultureInfo.InvariantCulture),
                ["until"] = r.WarmupUntil?.ToString("o", CultureInfo.InvariantCulture),
                ["awaitingReady"] = r.WarmupAwaitingReady,
                ["restarts"] = r.WarmupRestarts,
                ["windows"] = r.WarmupWindows,
            },
            ["startedAt"] = r.StartedAt.ToString("o", CultureInfo.InvariantCulture),
            ["finishedAt"] = r.FinishedAt?.ToString("o", CultureInfo.InvariantCulture),
            ["timedOut"] = r.TimedOut,
            ["cleanupPending"] = r.CleanupPending,
            ["canaryRemovalDueAt"] = r.CanaryRemovalDueAt?.ToString("o", CultureInfo.InvariantCulture),
            ["effectiveShare"] = r.Effective is { } e ? new JsonObject
            {
                ["canaryPercent"] = e.CanaryPercent, ["canaryReadyPods"] = e.CanaryReadyPods, ["stableReadyPods"] = e.StableReadyPods,
            } : null,
            ["driver"] = r.Driving is { } d ? new JsonObject
            {
                ["holder"] = d.Holder,
                ["lastHeartbeat"] = d.LastHeartbeat?.ToString("o", CultureInfo.InvariantCulture),
                ["leaseExpiresAt"] = d.LeaseExpiresAt?.ToString("o", CultureInfo.InvariantCulture),
                ["notDrivenSince"] = d.NotDrivenSince?.ToString("o", CultureInfo.InvariantCulture),
            } : null,
            ["history"] = new JsonArray(r.History.Select(h => (JsonNode?)new JsonObject
            {
                ["at"] = h.At.ToString("o", CultureInfo.InvariantCulture),
                ["kind"] = h.Kind,
                ["message"] = h.Message,
                ["canaryWeight"] = h.CanaryWeight,
                ["driver"] = h.Driver,
            }).ToArray()),
        };
        // Only after a header route on Linkerd 1.x: the header testers send (nothing was written).
        if (r.RequestHeaders is { } headers)
            doc["requestHeaders"] = new JsonObject(headers.Select(h => KeyValuePair.Create(h.Key, (JsonNode?)h.Value)));
        return doc;
    }

    public static JsonObject VerdictDocument(Verdict v) => new()
    {
        ["judge"] = v.Judge,
        ["metric"] = v.Metric,
        ["outcome"] = Camel(v.Outcome.ToString()),
        ["canaryRequests"] = v.CanaryRequests,
        ["canaryFailures"] = v.CanaryFailures,
        ["controlRequests"] = v.ControlRequests,
        ["controlFailures"] = v.ControlFailures,
        ["pValue"] = Finite(v.PValue),
        ["eValue"] = Finite(v.EValue),
        ["effect"] = Finite(v.Effect),
        ["summary"] = v.Summary,
    };

    private static double? Finite(double? d) => d is { } x && double.IsFinite(x) ? x : null;

    public static string Camel(string s) => s.Length == 0 ? s : char.ToLowerInvariant(s[0]) + s[1..];

    public static string Text(RolloutResult r)
    {
        var sb = new StringBuilder();
        sb.AppendLine(Table(["NAMESPACE", "NAME", "MESH", "PHASE", "STEP", "CANARY", "MESSAGE"],
            [[r.Namespace, r.Name, r.MeshProvider, r.PauseReason is { } p ? $"{r.Phase} ({p})" : r.Phase.ToString(),
              $"{Math.Min(r.StepIndex + 1, r.StepCount)}/{r.StepCount}",
              r.BaselineWeight is { } b ? $"{r.CanaryWeight:0.###}% (baseline {b:0.###}%)" : $"{r.CanaryWeight:0.###}%", r.Message]]));
        if (r.Driving is { } d && !r.Phase.IsTerminal()) sb.AppendLine().Append("Driver: ").Append(d.Describe());
        if (r.Effective is { } e) sb.AppendLine().Append("Share: ").Append(e.Describe(r.CanaryWeight));
        if (r.CleanupPending)
            sb.AppendLine().Append("Clean-up pending: ")
                .Append(r.CanaryRemovalDueAt is { } due ? $"canary kept until {due.ToString("u", CultureInfo.InvariantCulture)} (scaleDownDelay); " : "")
                .Append("the next start, wait, resume, abort or controller finishes it");
        if (r.TimedOut) sb.AppendLine().Append("wait timed out: the rollout is still ").Append(r.Phase).Append(" and no longer driven by this process");
        if (r.WarmupAwaitingReady)
            sb.AppendLine().Append($"Analysis: warm-up waiting for the canary's pods to be ready ({r.WarmupWindows} window(s) not judged)");
        else if (r.WarmingUp && r.WarmupUntil is { } until)
            sb.AppendLine().Append("Analysis: warm-up until ").Append(until.ToString("u", CultureInfo.InvariantCulture))
                .Append(r.WarmupFrom is { } from ? " (from " + from.ToString("u", CultureInfo.InvariantCulture) + "; " : " (")
                .Append($"{r.WarmupWindows} window(s) not judged)");
        if (r.Verdicts.Count > 0)
        {
            sb.AppendLine();
            sb.Append(Verdicts(r.Verdicts));
        }
        if (r.BackgroundVerdicts.Count > 0)
        {
            sb.AppendLine().AppendLine("Background analysis (whole rollout; a Fail aborts):");
            sb.Append(Verdicts(r.BackgroundVerdicts));
        }
        return sb.ToString();
    }

    public static string Verdicts(IReadOnlyList<Verdict> verdicts) =>
        Table(["METRIC", "JUDGE", "VERDICT", "CANARY", "CONTROL", "E-VALUE", "SUMMARY"],
            verdicts.Select(v => new[]
            {
                v.Metric, v.Judge, v.Outcome.ToString(), $"{v.CanaryFailures}/{v.CanaryRequests}", $"{v.ControlFailures}/{v.ControlRequests}",
                v.EValue is { } e ? (e >= 1e6 ? "> 10^6" : e.ToString("0.##", CultureInfo.InvariantCulture)) : "-", v.Summary,
            }).ToList()) + Environment.NewLine;

    /// <summary>`kubestead history` as text: one line per event and per analysed window and metric.</summary>
    public static string History(IReadOnlyList<RolloutHistoryRow> rows) =>
        Table(["TIME", "KIND", "WEIGHT", "METRIC", "CANARY", "CONTROL", "VERDICT", "E-VALUE", "MESSAGE"],
            rows.Select(r => new[]
            {
                r.At.UtcDateTime.ToString("HH:mm:ss", CultureInfo.InvariantCulture), r.Kind, r.CanaryWeight is { } w ? $"{w:0.###}%" : "", r.Metric ?? "",
                r.CanaryRequests is { } cn ? $"{r.CanaryFailures}/{cn}" : "", r.ControlRequests is { } sn ? $"{r.ControlFailures}/{sn}" : "", r.Outcome ?? "",
                r.EValue is { } e ? (e >= 1e6 ? "> 10^6" : e.ToString("0.##", CultureInfo.InvariantCulture)) : "", r.Message,
            }).ToList());

    public static string Table(string[] headers, IReadOnlyList<string[]> rows)
    {
        var widths = headers.Select((h, i) => Math.Max(h.Length, rows.Select(r => r[i].Length).DefaultIfEmpty(0).Max())).ToArray();
        var sb = new StringBuilder();
        void Line(string[] cells) => sb.AppendLine(string.Join("   ", cells.Select((c, i) => i == cells.Length - 1 ? c : c.PadRight(widths[i]))).TrimEnd());
        Line(headers);
        foreach (var r in rows) Line(r);
        return sb.ToString().TrimEnd('\r', '\n');
    }
}
