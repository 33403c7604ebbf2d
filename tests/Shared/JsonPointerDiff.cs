using System.Text.Json.Nodes;

namespace Kubestead.Tests.Shared;

/// <summary>The JSON pointers at which two documents differ (changed leaves, added and removed members).</summary>
internal static class JsonPointerDiff
{
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
}
