namespace Kubestead.Kubernetes;

/// <summary>
/// One HTTP request sent to the API server, as a metrics host counts it: the Kubernetes verb (get, list, watch, create,
/// update, patch, delete), the resource (plural, with its group when it has one) and the status code, or null when no
/// answer came (connection refused, reset, timed out). Built from the method and the path only: never a header or a
/// body, so never a credential.
/// </summary>
public sealed record ApiRequestSample(string Verb, string Resource, int? StatusCode)
{
    /// <summary>A failure: no answer, or a 4xx/5xx status.</summary>
    public bool IsError => StatusCode is null or >= 400;

    public static ApiRequestSample From(HttpMethod method, Uri? uri, int? statusCode)
    {
        var path = uri?.AbsolutePath ?? "";
        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        // /api/v1/... (core group) or /apis/<group>/<version>/...: what follows is [namespaces/<ns>/]<resource>[/<name>[/<sub>]].
        var (group, rest) = segments switch
        {
            ["api", _, .. var r] => ("", r),
            ["apis", var g, _, .. var r] => (g, r),
            _ => ("", Array.Empty<string>()),
        };
        if (rest is ["namespaces", _, _, ..]) rest = rest[2..];
        var resource = rest.Length == 0 ? "unknown" : group.Length == 0 ? rest[0] : $"{rest[0]}.{group}";
        var named = rest.Length >= 2;
        var query = uri?.Query ?? "";
        var verb = method.Method switch
        {
            "GET" when query.Contains("watch=true", StringComparison.Ordinal) => "watch",
            "GET" => named ? "get" : "list",
            "POST" => "create",
            "PUT" => "update",
            "PATCH" => "patch",
            "DELETE" => "delete",
            var other => other.ToLowerInvariant(),
        };
        return new ApiRequestSample(verb, resource, statusCode);
    }
}
