using System.Globalization;
using System.Text.Json.Nodes;
using Kubestead.Kubernetes;

namespace Kubestead.Sandbox.Cluster;

/// <summary>
/// Deployments whose pods never become ready (a crashing binary, an image that cannot be pulled), as a kubelet reports
/// them: the Deployment counts its pods but none ready, and each pod's container waits with the given reason.
/// </summary>
public sealed partial class EmulatedCluster
{
    private readonly Dictionary<(string? Ns, string Name), string> _brokenPods = new();

    /// <summary>
    /// From now on, Deployment <paramref name="name"/> (it may not exist yet) runs pods that never become ready: their
    /// container waits with <paramref name="reason"/> (CrashLoopBackOff, ImagePullBackOff).
    /// </summary>
    public void BreakPods(string? ns, string name, string reason)
    {
        lock (_gate) _brokenPods[(ns, name)] = reason;
    }

    /// <summary>Pods already ready keep running (a scale-up adds broken pods beside them); every new one is broken.</summary>
    private void RunBrokenPods(string? ns, string name, JsonObject deployment, string reason, int oldReady)
    {
        var replicas = deployment["spec"]?["replicas"]?.GetValue<int>() ?? 1;
        var ready = Math.Min(oldReady, replicas);
        deployment["status"] = new JsonObject
        {
            ["observedGeneration"] = deployment["metadata"]!["generation"]!.GetValue<long>(),
            ["replicas"] = replicas,
            ["updatedReplicas"] = replicas,
            ["readyReplicas"] = ready,
            ["availableReplicas"] = ready,
            ["unavailableReplicas"] = replicas - ready,
        };
        RemoveBrokenPods(ns, name, keep: replicas);
        var labels = deployment["spec"]?["template"]?["metadata"]?["labels"]?.DeepClone() as JsonObject ?? new JsonObject();
        var container = deployment["spec"]?["template"]?["spec"]?["containers"]?[0]?["name"]?.GetValue<string>() ?? "app";
        for (var i = ready; i < replicas; i++)
        {
            var podName = PodName(name, i);
            if (_objects.ContainsKey((ResourceType.Pod.QualifiedName, ns, podName))) continue;
            var pod = new JsonObject
            {
                ["apiVersion"] = "v1",
                ["kind"] = "Pod",
                ["metadata"] = new JsonObject
                {
                    ["name"] = podName,
                    ["namespace"] = ns,
                    ["labels"] = labels.DeepClone(),
                    ["resourceVersion"] = (++_version).ToString(CultureInfo.InvariantCulture),
                },
                ["status"] = new JsonObject
                {
                    ["phase"] = "Running",
                    ["containerStatuses"] = new JsonArray(new JsonObject
                    {
                        ["name"] = container,
                        ["ready"] = false,
                        ["restartCount"] = 4,
                        ["state"] = new JsonObject
                        {
                            ["waiting"] = new JsonObject { ["reason"] = reason, ["message"] = $"emulated: {reason} for container {container}" },
                        },
                    }),
                },
            };
            _objects[(ResourceType.Pod.QualifiedName, ns, podName)] = pod;
            RecordHistory(ResourceType.Pod, ns, WatchEventType.Added, pod);
        }
    }

    /// <summary>Pods of a broken Deployment past <paramref name="keep"/> go, as a ReplicaSet scaled down (or deleted) removes them.</summary>
    private void RemoveBrokenPods(string? ns, string name, int keep)
    {
        if (!_brokenPods.ContainsKey((ns, name))) return;
        for (var i = keep; _objects.Remove((ResourceType.Pod.QualifiedName, ns, PodName(name, i)), out var gone); i++)
        {
            gone["metadata"]!["resourceVersion"] = (++_version).ToString(CultureInfo.InvariantCulture);
            RecordHistory(ResourceType.Pod, ns, WatchEventType.Deleted, gone);
        }
    }

    private static string PodName(string deployment, int i) => $"{deployment}-{i.ToString(CultureInfo.InvariantCulture)}";
}
