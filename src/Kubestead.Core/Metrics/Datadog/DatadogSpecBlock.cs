using System.Text.RegularExpressions;
using Kubestead.Metrics.Connection;
using Kubestead.Specs;
using YamlDotNet.RepresentationModel;

namespace Kubestead.Metrics.Datadog;

/// <summary>
/// Reads <c>provider.datadog</c>: site (or address), apiKey, applicationKey, requestsQuery, failuresQuery, timeout,
/// tls and headers. A query that does not name the version (<c>{{workload}}</c>) is refused: canary and control would
/// get the same answer. A rate (<c>.as_rate()</c>, <c>per_second</c>) is refused: windows need counts.
/// </summary>
internal sealed partial class DatadogSpecBlock : IMetricProviderBlock
{
    public const string BlockKey = "datadog";

    public static readonly string[] Variables = ["workload", "deployment", "namespace"];

    public string Key => BlockKey;

    public MetricProviderSpec? Read(SpecReader r, YamlMappingNode provider, string path, string? mesh)
    {
        var block = r.Map(provider, BlockKey, path, required: true);
        if (block is null) return null;
        var p = $"{path}.{BlockKey}";
        r.CheckKeys(block, p, "site", "address", "apiKey", "applicationKey", "requestsQuery", "failuresQuery", "timeout", "tls", "headers");
        var site = r.Str(block, "site", p);
        var (given, address) = HttpConnectionBlock.HttpUrl(r, block, "address", p, asBase: true);
        if (site is not null && given)
        {
            r.Problem(SpecReader.Child(block, "address"), $"{p}.address", "give site or address, not both");
            address = null;
        }
        else if (!given && site is not null && !Site().IsMatch(site))
            r.Problem(SpecReader.Child(block, "site"), $"{p}.site", $"'{site}' is not a Datadog site, such as datadoghq.com, datadoghq.eu or us5.datadoghq.com");
        else if (!given)
            address = new Uri($"https://api.{site ?? "datadoghq.com"}/");
        var apiKey = HttpConnectionBlock.Secret(r, block, "apiKey", p, required: true, literalAllowed: false);
        var appKey = HttpConnectionBlock.Secret(r, block, "applicationKey", p, required: true, literalAllowed: false);
        var requests = Query(r, block, "requestsQuery", p);
        var failures = Query(r, block, "failuresQuery", p);
        var timeout = r.Duration(block, "timeout", p, TimeSpan.FromSeconds(30), min: TimeSpan.FromMilliseconds(100)) ?? TimeSpan.FromSeconds(30);
        var connection = (HttpConnectionBlock.Read(r, block, p, null, address?.Scheme == "https") ?? new HttpConnectionSpec(p))
            with { SecretHeaders = apiKey is null || appKey is null ? null : [new SecretHeader("DD-API-KEY", apiKey), new SecretHeader("DD-APPLICATION-KEY", appKey)] };
        return address is null || apiKey is null || appKey is null || requests is null || failures is null
            ? null
            : new DatadogProviderSpec(address, requests, failures, timeout, p, connection);
    }

    private static string? Query(SpecReader r, YamlMappingNode block, string key, string p)
    {
        var query = r.Str(block, key, p, required: true);
        if (query is null) return null;
        var field = $"{p}.{key}";
        var node = SpecReader.Child(block, key);
        var used = Variable().Matches(query).Select(m => m.Groups[1].Value).ToList();
        if (used.FirstOrDefault(v => !Variables.Contains(v)) is { } unknown)
            r.Problem(node, field, $"uses {{{{{unknown}}}}}, which is not one of: {string.Join(", ", Variables)}");
        else if (!used.Contains("workload") && !used.Contains("deployment"))
            r.Problem(node, field, "must contain {{workload}} (a tag such as kube_deployment:{{workload}}): without it the canary and its control get the same answer and cannot be told apart");
        else if (Rate().Match(query) is { Success: true } rate)
            r.Problem(node, field, $"must count requests (end it with .as_count()); {rate.Value.TrimEnd('(')} turns counts into a rate");
        else
            return query;
        return null;
    }

    /// <summary>The query with the version's values; tag values are Kubernetes names, which need no quoting in Datadog's syntax.</summary>
    public static string Render(string template, IReadOnlyDictionary<string, string> values) =>
        Variable().Replace(template, m => values[m.Groups[1].Value]);

    [GeneratedRegex(@"\{\{\s*([a-zA-Z]+)\s*\}\}")]
    private static partial Regex Variable();

    [GeneratedRegex(@"\.as_rate\(\)|\bper_(second|minute|hour)\(")]
    private static partial Regex Rate();

    [GeneratedRegex(@"^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,}$")]
    private static partial Regex Site();
}
