using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Kubestead.Sandbox.Tests.RealCluster;

/// <summary>Whole-object comparison: the JSON pointers at which two objects differ.</summary>
public static class ObjectDiff
{
    /// <summary>What the API server itself changes on every write; never Kubestead's doing.</summary>
    public static readonly string[] ServerBookkeeping = [@"^/metadata/resourceVersion$", @"^/metadata/generation$", @"^/metadata/managedFields(/.*)?$"];

    public static List<string> Changed(JsonNode? a, JsonNode? b, string path = "")
    {
        var result = new List<string>();
        switch (a, b)
        {
            case (JsonObject oa, JsonObject ob):
                foreach (var key in oa.Select(kv => kv.Key).Union(ob.Select(kv => kv.Key)))
                {
                    var p = path + "/" + key.Replace("~", "~0").Replace("/", "~1");
                    if (!oa.ContainsKey(key) || !ob.ContainsKey(key)) result.Add(p);
                    else result.AddRange(Changed(oa[key], ob[key], p));
                }
                break;
            case (JsonArray xa, JsonArray xb) when xa.Count == xb.Count:
                for (var i = 0; i < xa.Count; i++) result.AddRange(Changed(xa[i], xb[i], $"{path}/{i}"));
                break;
            default:
                if (!JsonNode.DeepEquals(a, b)) result.Add(path.Length == 0 ? "/" : path);
                break;
        }
        return result;
    }

    /// <summary>The changes outside the server's bookkeeping and the <paramref name="allowed"/> patterns (regexes over pointers).</summary>
    public static List<string> Unexpected(JsonNode? before, JsonNode? after, params string[] allowed) =>
        Changed(before, after).Where(p => !ServerBookkeeping.Concat(allowed).Any(r => Regex.IsMatch(p, r))).ToList();
}
