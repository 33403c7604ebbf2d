using Kubestead.Metrics.Connection;
using Kubestead.Specs;
using YamlDotNet.RepresentationModel;

namespace Kubestead.Metrics.Web;

/// <summary>
/// Reads <c>provider.web</c>: url, requestsPath, failuresPath, timeout and the connection fields. The url must name
/// the version (<c>{{workload}}</c> or <c>{{deployment}}</c>): a source that answers the same for canary and control
/// cannot compare them, so it is refused here rather than judged as equal.
/// </summary>
internal sealed class WebSpecBlock : IMetricProviderBlock
{
    public const string BlockKey = "web";

    public string Key => BlockKey;

    public MetricProviderSpec? Read(SpecReader r, YamlMappingNode provider, string path, string? mesh)
    {
        var web = r.Map(provider, BlockKey, path, required: true);
        if (web is null) return null;
        var wp = $"{path}.{BlockKey}";
        r.CheckKeys(web, wp, [.. new[] { "url", "requestsPath", "failuresPath", "timeout" }, .. HttpConnectionBlock.Keys]);
        var url = r.Str(web, "url", wp, required: true);
        if (url is not null)
        {
            var used = UrlTemplate.Used(url).ToList();
            var probe = UrlTemplate.Render(url, UrlTemplate.Variables.ToDictionary(v => v, _ => "x"));
            if (!(Uri.TryCreate(probe, UriKind.Absolute, out var u) && u.Scheme is "http" or "https"))
                r.Problem(SpecReader.Child(web, "url"), $"{wp}.url", "is not an http(s) URL");
            else if (used.FirstOrDefault(v => !UrlTemplate.Variables.Contains(v)) is { } unknown)
                r.Problem(SpecReader.Child(web, "url"), $"{wp}.url", $"uses {{{{{unknown}}}}}, which is not one of: {string.Join(", ", UrlTemplate.Variables)}");
            else if (!used.Contains("workload") && !used.Contains("deployment"))
                r.Problem(SpecReader.Child(web, "url"), $"{wp}.url",
                    "must contain {{workload}} (or {{deployment}}): without it the canary and its control get the same answer and cannot be told apart");
        }
        var requests = Path(r, web, "requestsPath", wp);
        var failures = Path(r, web, "failuresPath", wp);
        var timeout = r.Duration(web, "timeout", wp, TimeSpan.FromSeconds(10), min: TimeSpan.FromMilliseconds(100)) ?? TimeSpan.FromSeconds(10);
        var https = url?.StartsWith("https:", StringComparison.OrdinalIgnoreCase) == true;
        var connection = HttpConnectionBlock.Read(r, web, wp, null, https);
        return url is null || requests is null || failures is null ? null : new WebProviderSpec(url, requests, failures, timeout, wp, connection);
    }

    private static string? Path(SpecReader r, YamlMappingNode web, string key, string wp)
    {
        var path = r.Str(web, key, wp, required: true);
        if (path is null || JsonPathValue.IsSupported(path)) return path;
        r.Problem(SpecReader.Child(web, key), $"{wp}.{key}", $"'{path}' is not a JSONPath to one value, such as $.data.requests or {{$.series[0].count}}");
        return null;
    }
}
