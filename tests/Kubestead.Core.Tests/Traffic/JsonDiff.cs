using System.Text.Json.Nodes;
using Kubestead.Tests.Shared;

namespace Kubestead.Core.Tests.Traffic;

/// <summary>The JSON pointers at which two documents differ (leaves, added and removed members).</summary>
public static class JsonDiff
{
    public static List<string> Changed(JsonNode? a, JsonNode? b) => JsonPointerDiff.Changed(a, b);

    /// <summary>Changes other than the bookkeeping the API server does on every write.</summary>
    public static List<string> ChangedSpec(JsonNode? a, JsonNode? b) =>
        Changed(a, b).Where(p => p is not ("/metadata/resourceVersion" or "/metadata/generation")).ToList();
}
