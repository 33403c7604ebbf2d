using System.Text.RegularExpressions;
using Kubestead.Metrics.Connection;
using Kubestead.Specs;
using YamlDotNet.RepresentationModel;

namespace Kubestead.Metrics.AppInsights;

/// <summary>
/// Reads <c>provider.appInsights</c>: appId, address, versionBy, canary, control, timeout and the connection fields
/// (<c>entraId</c> for a workload identity token). Versions told apart by the application version must name both
/// values, and a canary and control that are the same value are refused: the source could not tell them apart.
/// </summary>
internal sealed partial class AppInsightsSpecBlock : IMetricProviderBlock
{
    public const string BlockKey = "appInsights";

    /// <summary>The query API of the public cloud (sovereign clouds and tests give <c>address</c>).</summary>
    public static readonly Uri PublicAddress = new("https://api.applicationinsights.io/");

    /// <summary>The Entra ID scope of the query API.</summary>
    public const string Scope = "https://api.applicationinsights.io/.default";

    /// <summary>The <c>requests</c> columns a version can be told apart by.</summary>
    public static readonly string[] VersionColumns = ["cloud_RoleName", "application_Version"];

    public string Key => BlockKey;

    public MetricProviderSpec? Read(SpecReader r, YamlMappingNode provider, string path, string? mesh)
    {
        var block = r.Map(provider, BlockKey, path, required: true);
        if (block is null) return null;
        var p = $"{path}.{BlockKey}";
        r.CheckKeys(block, p, [.. new[] { "appId", "address", "versionBy", "canary", "control", "timeout" }, .. HttpConnectionBlock.Keys]);
        var appId = r.Str(block, "appId", p, required: true);
        if (appId is not null && !Guid.TryParse(appId, out _))
            r.Problem(SpecReader.Child(block, "appId"), $"{p}.appId", $"'{appId}' is not an Application ID (a GUID, from the resource's API Access page)");
        var (given, url) = HttpConnectionBlock.HttpUrl(r, block, "address", p, asBase: true);
        var address = given ? url : PublicAddress;
        var by = r.Enum(block, "versionBy", p, VersionColumns, "cloud_RoleName");
        var canary = Value(r, block, "canary", p);
        var control = Value(r, block, "control", p);
        if (by == "application_Version" && (canary is null || control is null))
            r.Problem(block, $"{p}.{(canary is null ? "canary" : "control")}",
                "versionBy: application_Version needs the version string of both canary and control (Deployment names are not versions)");
        if (canary is not null && canary == control)
            r.Problem(SpecReader.Child(block, "control"), $"{p}.control", $"is the same as canary ('{canary}'): the source could not tell the canary from its control");
        var timeout = r.Duration(block, "timeout", p, TimeSpan.FromSeconds(30), min: TimeSpan.FromMilliseconds(100)) ?? TimeSpan.FromSeconds(30);
        var connection = HttpConnectionBlock.Read(r, block, p, null, address?.Scheme == "https", Scope);
        return appId is null || address is null || by is null ? null : new AppInsightsProviderSpec(address, appId, by, canary, control, timeout, p, connection);
    }

    private static string? Value(SpecReader r, YamlMappingNode block, string key, string p)
    {
        var value = r.Str(block, key, p);
        if (value is null || SafeValue().IsMatch(value)) return value;
        r.Problem(SpecReader.Child(block, key), $"{p}.{key}", "must be a role name or version: letters, digits and . _ - : / + @ (at most 256)");
        return null;
    }

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._:/+@-]{0,255}$")]
    private static partial Regex SafeValue();
}
