using System.Text.RegularExpressions;
using Kubestead.Metrics.Connection;
using Kubestead.Specs;
using YamlDotNet.RepresentationModel;

namespace Kubestead.Metrics.CloudWatch;

/// <summary>
/// Reads <c>provider.cloudWatch</c>: region (or address), namespace, requestsMetric, failuresMetric, stat, dimensions,
/// versionDimension {name, canary, control}, period, timeout, and the SigV4 key pair (accessKeyId, secretAccessKey,
/// sessionToken; else the AWS environment variables or shared credentials file). A metric whose versions are not told
/// apart by a dimension is refused: canary and control would get the same answer.
/// </summary>
internal sealed partial class CloudWatchSpecBlock : IMetricProviderBlock
{
    public const string BlockKey = "cloudWatch";

    /// <summary>SigV4's signing name of CloudWatch's metrics API.</summary>
    public const string SigningService = "monitoring";

    public string Key => BlockKey;

    public MetricProviderSpec? Read(SpecReader r, YamlMappingNode provider, string path, string? mesh)
    {
        var block = r.Map(provider, BlockKey, path, required: true);
        if (block is null) return null;
        var p = $"{path}.{BlockKey}";
        r.CheckKeys(block, p, "region", "address", "namespace", "requestsMetric", "failuresMetric", "stat", "dimensions", "versionDimension", "period", "timeout",
            "accessKeyId", "secretAccessKey", "sessionToken");
        var sigv4 = HttpConnectionBlock.SigV4Fields(r, block, p, SigningService);
        var (given, address) = HttpConnectionBlock.HttpUrl(r, block, "address", p, asBase: true);
        if (!given && sigv4 is not null)
            address = new Uri($"https://monitoring.{sigv4.Region}.amazonaws.com{(sigv4.Region.StartsWith("cn-", StringComparison.Ordinal) ? ".cn" : "")}/");
        var ns = Name(r, block, "namespace", p);
        var requests = Name(r, block, "requestsMetric", p);
        var failures = Name(r, block, "failuresMetric", p);
        // Windows add up counts; an average or a percentile of a window's periods is not a count.
        var stat = r.Enum(block, "stat", p, ["Sum", "SampleCount"], "Sum") ?? "Sum";
        var dimensions = Dimensions(r, block, p);
        var version = VersionDimension(r, block, p, dimensions);
        var period = r.Duration(block, "period", p, TimeSpan.FromMinutes(1), min: TimeSpan.FromSeconds(1)) ?? TimeSpan.FromMinutes(1);
        var seconds = (int)period.TotalSeconds;
        if (period.TotalSeconds != seconds || !(seconds is 1 or 5 or 10 or 30 || seconds % 60 == 0))
            r.Problem(SpecReader.Child(block, "period"), $"{p}.period", "must be 1s, 5s, 10s, 30s or a multiple of 60s (the periods CloudWatch keeps)");
        var timeout = r.Duration(block, "timeout", p, TimeSpan.FromSeconds(30), min: TimeSpan.FromMilliseconds(100)) ?? TimeSpan.FromSeconds(30);
        return address is null || sigv4 is null || ns is null || requests is null || failures is null || version is null
            ? null
            : new CloudWatchProviderSpec(address, ns, requests, failures, stat, dimensions, version.Value.Name, version.Value.Canary, version.Value.Control,
                period, timeout, p, new HttpConnectionSpec(p, SigV4: sigv4));
    }

    private static string? Name(SpecReader r, YamlMappingNode block, string key, string p)
    {
        var value = r.Str(block, key, p, required: true);
        if (value is null || MetricName().IsMatch(value)) return value;
        r.Problem(SpecReader.Child(block, key), $"{p}.{key}", $"'{value}' is not a CloudWatch name (1 to 255 printable characters)");
        return null;
    }

    private static List<KeyValuePair<string, string>> Dimensions(SpecReader r, YamlMappingNode block, string p)
    {
        var list = new List<KeyValuePair<string, string>>();
        if (r.Map(block, "dimensions", p, required: false) is not { } map) return list;
        foreach (var (keyNode, valueNode) in map.Children)
        {
            var name = (keyNode as YamlScalarNode)?.Value ?? "";
            if (valueNode is YamlScalarNode { Value: { } value } && MetricName().IsMatch(name) && MetricName().IsMatch(value)) list.Add(new(name, value));
            else r.Problem(valueNode, $"{p}.dimensions.{name}", "must be a dimension name and value of 1 to 255 printable characters");
        }
        if (list.Count > 29) r.Problem(map, $"{p}.dimensions", "CloudWatch takes at most 30 dimensions per metric, the version's included");
        return list;
    }

    private static (string Name, string? Canary, string? Control)? VersionDimension(SpecReader r, YamlMappingNode block, string p,
        List<KeyValuePair<string, string>> dimensions)
    {
        var field = $"{p}.versionDimension";
        var map = r.Map(block, "versionDimension", p, required: false);
        if (map is null)
        {
            r.Problem(block, field,
                "is required: the dimension whose value tells the canary from its control (e.g. {name: TargetGroup, canary: targetgroup/shop-canary/..., control: targetgroup/shop/...}); without it both get the same answer");
            return null;
        }
        r.CheckKeys(map, field, "name", "canary", "control");
        var name = Name(r, map, "name", field);
        var canary = r.Str(map, "canary", field);
        var control = r.Str(map, "control", field);
        if (name is not null && dimensions.Any(d => d.Key == name))
            r.Problem(SpecReader.Child(map, "name"), $"{field}.name", $"'{name}' is also under dimensions, which would give both versions one value");
        if (canary is not null && canary == control)
            r.Problem(SpecReader.Child(map, "control"), $"{field}.control", "is the canary's value: the two versions would get the same answer");
        return name is null ? null : (name, canary, control);
    }

    [GeneratedRegex(@"^[\x20-\x7E]{1,255}$")]
    private static partial Regex MetricName();
}
