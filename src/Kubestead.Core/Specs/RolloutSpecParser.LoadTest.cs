using System.Text.RegularExpressions;
using Kubestead.LoadTests;
using Kubestead.Metrics.Prometheus;
using Kubestead.Metrics.Simulated;
using YamlDotNet.RepresentationModel;

namespace Kubestead.Specs;

public static partial class RolloutSpecParser
{
    [GeneratedRegex("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")]
    private static partial Regex HttpHeaderName();

    [GeneratedRegex("^[a-zA-Z_][a-zA-Z0-9_]*$")]
    private static partial Regex PrometheusLabelName();

    /// <summary>
    /// <c>spec.analysis.loadTest</c>. Its requests are judged apart from the users' only where the metrics can tell them
    /// apart: the simulator, and Prometheus's istio builtin (a Telemetry tag override puts the marker header into a label);
    /// any other metric source is refused naming the metric, since it would mix the two silently.
    /// </summary>
    private static LoadTestSpec? ReadLoadTest(SpecReader r, YamlMappingNode analysis, IReadOnlyList<MetricSpec> metrics)
    {
        var node = SpecReader.Child(analysis, "loadTest");
        if (node is null || SpecReader.IsNull(node)) return null;
        const string p = "spec.analysis.loadTest";
        var m = r.Map(analysis, "loadTest", "spec.analysis", required: false);
        if (m is null) return null;
        r.CheckKeys(m, p, "url", "requestsPerSecond", "headers", "method", "timeout", "markerHeader", "metricLabel", "control");
        var url = ReadLoadTestUrl(r, m, p);
        var rps = r.Number(m, "requestsPerSecond", p, 0.01, LoadTestSpec.MaxRequestsPerSecond, required: true);
        var method = r.Enum(m, "method", p, LoadTestSpec.Methods, "GET");
        var timeout = r.Duration(m, "timeout", p, LoadTestSpec.DefaultTimeout, min: TimeSpan.FromMilliseconds(100));
        if (timeout > LoadTestSpec.MaxTimeout)
        {
            r.Problem(SpecReader.Child(m, "timeout"), $"{p}.timeout", $"is longer than the maximum {SpecDuration.Format(LoadTestSpec.MaxTimeout)}");
            timeout = null;
        }
        var marker = r.Str(m, "markerHeader", p) ?? LoadTestSpec.DefaultMarkerHeader;
        if (!HttpHeaderName().IsMatch(marker))
        {
            r.Problem(SpecReader.Child(m, "markerHeader"), $"{p}.markerHeader", $"'{marker}' is not an HTTP header name");
            marker = null;
        }
        var label = r.Str(m, "metricLabel", p) ?? LoadTestSpec.DefaultMetricLabel;
        if (!PrometheusLabelName().IsMatch(label) || label.StartsWith("__", StringComparison.Ordinal))
        {
            r.Problem(SpecReader.Child(m, "metricLabel"), $"{p}.metricLabel", $"'{label}' is not a Prometheus label name (letters, digits and '_', not starting with a digit or '__')");
            label = null;
        }
        var headers = ReadLoadTestHeaders(r, m, p, marker);
        var control = ReadLoadTestControl(r, m, p, url, marker, out var controlOk);
        CheckLoadTestSources(r, analysis, metrics);
        return url is not null && rps is { } rate && method is not null && timeout is { } t && marker is not null && label is not null && headers is not null && controlOk
            ? new LoadTestSpec(url, rate, headers, method, t, marker, label, control)
            : null;
    }

    /// <summary><c>loadTest.control</c>: <c>{}</c> sends the control stream to the same URL without the route headers.</summary>
    private static LoadTestTarget? ReadLoadTestControl(SpecReader r, YamlMappingNode m, string p, string? url, string? marker, out bool ok)
    {
        ok = true;
        var node = SpecReader.Child(m, "control");
        if (node is null) return null;
        var cp = $"{p}.control";
        if (SpecReader.IsNull(node)) return url is null ? null : new LoadTestTarget(url, new Dictionary<string, string>());
        var c = r.Map(m, "control", p, required: false);
        if (c is null)
        {
            ok = false;
            return null;
        }
        r.CheckKeys(c, cp, "url", "headers");
        var controlUrl = SpecReader.Child(c, "url") is null ? url : ReadLoadTestUrl(r, c, cp);
        var headers = ReadLoadTestHeaders(r, c, cp, marker);
        ok = controlUrl is not null && headers is not null;
        return ok ? new LoadTestTarget(controlUrl!, headers!) : null;
    }

    private static string? ReadLoadTestUrl(SpecReader r, YamlMappingNode m, string p)
    {
        var url = r.Str(m, "url", p, required: true);
        if (url is null) return null;
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            r.Problem(SpecReader.Child(m, "url"), $"{p}.url", "must be an absolute http:// or https:// URL (the canary's Service or the header-routed host)");
            return null;
        }
        if (uri.UserInfo.Length > 0)
        {
            // The spec is stored in a ConfigMap and printed by status: a password in it would be written everywhere.
            r.Problem(SpecReader.Child(m, "url"), $"{p}.url", $"must not hold credentials ({UrlRedaction.Redact(uri)}); the load test sends no credentials");
            return null;
        }
        return url;
    }

    private static Dictionary<string, string>? ReadLoadTestHeaders(SpecReader r, YamlMappingNode m, string p, string? marker)
    {
        var node = SpecReader.Child(m, "headers");
        if (node is null || SpecReader.IsNull(node)) return new Dictionary<string, string>();
        var map = r.Map(m, "headers", p, required: false);
        if (map is null) return null;
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var ok = true;
        foreach (var (k, v) in map.Children)
        {
            var name = (k as YamlScalarNode)?.Value ?? "";
            var field = $"{p}.headers.{name}";
            if (!HttpHeaderName().IsMatch(name))
                ok = Fail(r, k, field, $"'{name}' is not an HTTP header name");
            else if (marker is not null && string.Equals(name, marker, StringComparison.OrdinalIgnoreCase))
                ok = Fail(r, k, field, $"is the marker header, which Kubestead sets to the rollout's name on every request");
            else if (v is not YamlScalarNode { Value: { } value } || value.IndexOfAny(['\r', '\n']) >= 0)
                ok = Fail(r, v, field, "must be a single-line string (quote values such as \"true\")");
            else headers[name] = value;
        }
        return ok ? headers : null;
    }

    private static bool Fail(SpecReader r, YamlNode node, string field, string message)
    {
        r.Problem(node, field, message);
        return false;
    }

    private static void CheckLoadTestSources(SpecReader r, YamlMappingNode analysis, IReadOnlyList<MetricSpec> metrics)
    {
        var seq = SpecReader.Child(analysis, "metrics") as YamlSequenceNode;
        for (var i = 0; i < metrics.Count; i++)
        {
            if (metrics[i].Provider is SimulatedProviderSpec or PrometheusProviderSpec { Builtin: "istio" }) continue;
            var at = seq?.Children.FirstOrDefault(c => c is YamlMappingNode mm && (SpecReader.Child(mm, "name") as YamlScalarNode)?.Value == metrics[i].Name);
            var field = $"spec.analysis.metrics[{(seq is null || at is null ? i : seq.Children.IndexOf(at))}].provider";
            r.Problem(at is YamlMappingNode mn ? SpecReader.Child(mn, "provider") : analysis, field,
                $"metric '{metrics[i].Name}' cannot tell spec.analysis.loadTest's synthetic requests from the users' (only the simulated provider and " +
                "prometheus builtin: istio, with a Telemetry tag override for the marker header, can); without that they would be mixed silently");
        }
    }
}
