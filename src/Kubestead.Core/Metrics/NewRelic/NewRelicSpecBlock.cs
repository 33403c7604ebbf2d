using System.Text.RegularExpressions;
using Kubestead.Metrics.Connection;
using Kubestead.Specs;
using YamlDotNet.RepresentationModel;

namespace Kubestead.Metrics.NewRelic;

/// <summary>
/// Reads <c>provider.newRelic</c>: accountId, region (us or eu) or address, apiKey, query, timeout, tls, headers. The
/// query must name the version (<c>{{workload}}</c>) and leave the window to Kubestead (no SINCE, UNTIL or TIMESERIES).
/// </summary>
internal sealed partial class NewRelicSpecBlock : IMetricProviderBlock
{
    public const string BlockKey = "newRelic";

    /// <summary>Transactions of the APM agent whose application name is the Deployment's.</summary>
    public const string DefaultQuery =
        "SELECT count(*) AS requests, filter(count(*), WHERE error IS true) AS failures FROM Transaction WHERE appName = '{{workload}}'";

    public static readonly IReadOnlyDictionary<string, Uri> Regions = new Dictionary<string, Uri>
    {
        ["us"] = new("https://api.newrelic.com/graphql"), ["eu"] = new("https://api.eu.newrelic.com/graphql"),
    };

    public string Key => BlockKey;

    public MetricProviderSpec? Read(SpecReader r, YamlMappingNode provider, string path, string? mesh)
    {
        var block = r.Map(provider, BlockKey, path, required: true);
        if (block is null) return null;
        var p = $"{path}.{BlockKey}";
        r.CheckKeys(block, p, "accountId", "region", "address", "apiKey", "query", "timeout", "tls", "headers");
        var account = r.Int(block, "accountId", p, 1, int.MaxValue);
        if (SpecReader.Child(block, "accountId") is null) r.Problem(block, $"{p}.accountId", "required field is missing");
        var region = r.Enum(block, "region", p, [.. Regions.Keys], null);
        var (given, address) = HttpConnectionBlock.HttpUrl(r, block, "address", p);
        if (region is not null && given)
        {
            r.Problem(SpecReader.Child(block, "address"), $"{p}.address", "give region or address, not both");
            address = null;
        }
        else if (!given && (SpecReader.Child(block, "region") is null || region is not null))
            address = Regions[region ?? "us"];
        var apiKey = HttpConnectionBlock.Secret(r, block, "apiKey", p, required: true, literalAllowed: false);
        var query = Query(r, block, p);
        var timeout = r.Duration(block, "timeout", p, TimeSpan.FromSeconds(30), min: TimeSpan.FromMilliseconds(100)) ?? TimeSpan.FromSeconds(30);
        var connection = (HttpConnectionBlock.Read(r, block, p, null, address?.Scheme == "https") ?? new HttpConnectionSpec(p))
            with { SecretHeaders = apiKey is null ? null : [new SecretHeader("API-Key", apiKey)] };
        return address is null || account is null || apiKey is null || query is null
            ? null
            : new NewRelicProviderSpec(address, account.Value, query, timeout, p, connection);
    }

    private static string? Query(SpecReader r, YamlMappingNode block, string p)
    {
        var query = r.Str(block, "query", p) ?? DefaultQuery;
        var node = SpecReader.Child(block, "query");
        var used = Variable().Matches(query).Select(m => m.Groups[1].Value).ToList();
        if (used.FirstOrDefault(v => v is not ("workload" or "deployment" or "namespace")) is { } unknown)
            r.Problem(node, $"{p}.query", $"uses {{{{{unknown}}}}}, which is not one of: workload, deployment, namespace");
        else if (!used.Contains("workload") && !used.Contains("deployment"))
            r.Problem(node, $"{p}.query", "must contain {{workload}} (such as WHERE appName = '{{workload}}'): without it the canary and its control get the same answer and cannot be told apart");
        else if (Window().Match(query) is { Success: true } clause)
            r.Problem(node, $"{p}.query", $"must not give {clause.Value.ToUpperInvariant()}: Kubestead adds each window's SINCE and UNTIL");
        else
            return query;
        return null;
    }

    /// <summary>The query for one version's window; the values are Kubernetes names, which cannot close an NRQL string.</summary>
    public static string Render(string query, IReadOnlyDictionary<string, string> values, DateTimeOffset start, DateTimeOffset end) =>
        Variable().Replace(query, m => values[m.Groups[1].Value]) + $" SINCE {start.ToUnixTimeMilliseconds()} UNTIL {end.ToUnixTimeMilliseconds()}";

    [GeneratedRegex(@"\{\{\s*([a-zA-Z]+)\s*\}\}")]
    private static partial Regex Variable();

    [GeneratedRegex(@"\b(since|until|timeseries|compare\s+with)\b", RegexOptions.IgnoreCase)]
    private static partial Regex Window();
}
