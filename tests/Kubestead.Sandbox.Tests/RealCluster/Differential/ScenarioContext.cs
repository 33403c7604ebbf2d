using System.Text.Json;
using System.Text.Json.Nodes;
using Kubestead.Kubernetes;

namespace Kubestead.Sandbox.Tests.RealCluster.Differential;

/// <summary>
/// What one backend answered during a scenario: one line per request with the outcome (OK, or the status code and
/// reason) and the returned object without its metadata (which holds server-chosen uids, versions and timestamps).
/// Two backends agree when their transcripts are equal.
/// </summary>
public sealed class ScenarioContext(IKubernetesApi api, IKubernetesApi limited, string ns)
{
    public IKubernetesApi Api { get; } = api;

    /// <summary>The read-only user (get/list/watch on the mesh, workload and state types; 403 for everything else).</summary>
    public IKubernetesApi Limited { get; } = limited;

    public string Namespace { get; } = ns;

    public List<string> Transcript { get; } = new();

    /// <summary>Records a request that returns an object; <paramref name="keep"/> limits the comparison to those JSON pointers.</summary>
    public async Task<JsonObject?> Step(string name, Func<Task<JsonObject>> call, params string[] keep)
    {
        try
        {
            var o = await call();
            Transcript.Add($"{name}: OK {Show(o, keep)}");
            return o;
        }
        catch (KubernetesApiException e)
        {
            Transcript.Add($"{name}: {Failure(e)}");
            return null;
        }
    }

    public async Task<ObjectList?> List(string name, Func<Task<ObjectList>> call)
    {
        try
        {
            var list = await call();
            var names = string.Join(",", list.Items.Select(i => i["metadata"]?["name"]?.GetValue<string>()));
            Transcript.Add($"{name}: OK [{names}] continue={(string.IsNullOrEmpty(list.Continue) ? "none" : "set")}");
            return list;
        }
        catch (KubernetesApiException e)
        {
            Transcript.Add($"{name}: {Failure(e)}");
            return null;
        }
    }

    public async Task Do(string name, Func<Task> call)
    {
        try
        {
            await call();
            Transcript.Add($"{name}: OK");
        }
        catch (KubernetesApiException e)
        {
            Transcript.Add($"{name}: {Failure(e)}");
        }
    }

    public void Note(string line) => Transcript.Add(line);

    /// <summary>Status code and reason; a message only for the 500 that has no reason (its text is the contract).</summary>
    private static string Failure(KubernetesApiException e) =>
        e.StatusCode == 500 && e.Message.Contains("resourceVersion should not be set", StringComparison.Ordinal)
            ? $"{e.StatusCode} {e.Reason} resourceVersion should not be set"
            : $"{e.StatusCode} {e.Reason}";

    public static string Show(JsonObject o, params string[] keep)
    {
        if (keep.Length > 0)
            return string.Join(" ", keep.Select(p => $"{p}={Canonical(Pointer(o, p))}"));
        var copy = o.DeepClone().AsObject();
        copy.Remove("metadata");
        return Canonical(copy);
    }

    public static JsonNode? Pointer(JsonNode? node, string pointer)
    {
        foreach (var part in pointer.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            var key = part.Replace("~1", "/").Replace("~0", "~");
            node = node switch
            {
                JsonObject obj => obj[key],
                JsonArray arr when int.TryParse(key, out var i) && i < arr.Count => arr[i],
                _ => null,
            };
        }
        return node;
    }

    /// <summary>JSON with object members sorted, so member order (which servers do not promise) never counts as a difference.</summary>
    public static string Canonical(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject o => "{" + string.Join(",", o.OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => JsonSerializer.Serialize(kv.Key) + ":" + Canonical(kv.Value))) + "}",
        JsonArray a => "[" + string.Join(",", a.Select(Canonical)) + "]",
        // Go writes 5.0 as 5; the number, not its spelling, is the contract.
        JsonValue v when v.GetValueKind() == JsonValueKind.Number =>
            double.Parse(v.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture).ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        _ => node.ToJsonString(),
    };
}
