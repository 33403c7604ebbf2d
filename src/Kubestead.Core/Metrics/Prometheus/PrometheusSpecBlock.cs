using System.Text.RegularExpressions;
using Kubestead.Metrics.Connection;
using Kubestead.Specs;
using YamlDotNet.RepresentationModel;

namespace Kubestead.Metrics.Prometheus;

/// <summary>Reads and checks <c>provider.prometheus</c>: address, builtin or query templates, connection (credentials, TLS, headers), timeout.</summary>
internal sealed partial class PrometheusSpecBlock : IMetricProviderBlock
{
    public const string BlockKey = "prometheus";

    public string Key => BlockKey;

    public MetricProviderSpec? Read(SpecReader r, YamlMappingNode provider, string path, string? mesh)
    {
        var prom = r.Map(provider, BlockKey, path, required: true);
        if (prom is null) return null;
        var pp = $"{path}.{BlockKey}";
        r.CheckKeys(prom, pp, [.. new[] { "address", "builtin", "requestsQuery", "failuresQuery", "bearerTokenFile", "timeout" }, .. HttpConnectionBlock.Keys]);
        var address = r.Str(prom, "address", pp, required: true);
        if (address is not null && !(Uri.TryCreate(address, UriKind.Absolute, out var u) && (u.Scheme == "http" || u.Scheme == "https")))
            r.Problem(SpecReader.Child(prom, "address"), $"{pp}.address", $"'{UrlRedaction.Redact(address)}' is not an http(s) URL");
        var defaultBuiltin = mesh is "istio" ? "istio" : mesh is "linkerd" or "smi" ? "linkerd" : mesh is "nginx" ? "nginx" : mesh is "linkerd1" ? "linkerd1" : null;
        var builtin = r.Enum(prom, "builtin", pp, ["istio", "linkerd", "nginx", "linkerd1"], SpecReader.Child(prom, "requestsQuery") is null ? defaultBuiltin : null);
        var requests = r.Str(prom, "requestsQuery", pp);
        var failures = r.Str(prom, "failuresQuery", pp);
        // Windows are differenced from cumulative counters read at both edges; a rate would be differenced silently.
        foreach (var (field, query) in new[] { ("requestsQuery", requests), ("failuresQuery", failures) })
            if (query is not null && RateFunction().Match(query) is { Success: true } rate)
                r.Problem(SpecReader.Child(prom, field), $"{pp}.{field}",
                    $"must return cumulative counters (Kubestead differences them per series); remove {rate.Groups[1].Value}(...)");
        // A variable the query cannot fill would only fail at the first window, after traffic moved.
        foreach (var (field, query) in new[] { ("requestsQuery", requests), ("failuresQuery", failures) })
            foreach (Match v in TemplateVariable().Matches(query ?? ""))
                if (!TemplateVariables.Contains(v.Groups[1].Value))
                    r.Problem(SpecReader.Child(prom, field), $"{pp}.{field}",
                        $"{{{{{v.Groups[1].Value}}}}} is not a template variable; use one of {string.Join(", ", TemplateVariables.Select(t => "{{" + t + "}}"))}");
        if (builtin is null && (requests is null || failures is null) && SpecReader.Child(prom, "builtin") is null)
            r.Problem(prom, $"{pp}.requestsQuery", "without a mesh, give requestsQuery and failuresQuery (PromQL templates)");
        var timeout = r.Duration(prom, "timeout", pp, TimeSpan.FromSeconds(10), min: TimeSpan.FromMilliseconds(100)) ?? TimeSpan.FromSeconds(10);
        var bearerTokenFile = r.Str(prom, "bearerTokenFile", pp);
        var https = address?.StartsWith("https:", StringComparison.OrdinalIgnoreCase) == true;
        var connection = HttpConnectionBlock.Read(r, prom, pp, bearerTokenFile, https);
        return new PrometheusProviderSpec(address, builtin, requests, failures, bearerTokenFile, timeout, connection);
    }

    /// <summary>What a query template may use: the rollout's namespace, the version's Deployment (twice named) and its pod regex.</summary>
    internal static readonly string[] TemplateVariables = ["namespace", "deployment", "workload", "podRegex"];

    [GeneratedRegex(@"\{\{\s*([a-zA-Z]+)\s*\}\}")]
    private static partial Regex TemplateVariable();

    [GeneratedRegex(@"\b(rate|irate|increase)\s*\(")]
    private static partial Regex RateFunction();
}
