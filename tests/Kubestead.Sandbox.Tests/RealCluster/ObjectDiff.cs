using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Kubestead.Tests.Shared;

namespace Kubestead.Sandbox.Tests.RealCluster;

/// <summary>Whole-object comparison: the JSON pointers at which two objects differ.</summary>
public static class ObjectDiff
{
    /// <summary>What the API server itself changes on every write; never Kubestead's doing.</summary>
    public static readonly string[] ServerBookkeeping = [@"^/metadata/resourceVersion$", @"^/metadata/generation$", @"^/metadata/managedFields(/.*)?$"];

    public static List<string> Changed(JsonNode? a, JsonNode? b) => JsonPointerDiff.Changed(a, b);

    /// <summary>The changes outside the server's bookkeeping and the <paramref name="allowed"/> patterns (regexes over pointers).</summary>
    public static List<string> Unexpected(JsonNode? before, JsonNode? after, params string[] allowed) =>
        Changed(before, after).Where(p => !ServerBookkeeping.Concat(allowed).Any(r => Regex.IsMatch(p, r))).ToList();
}
