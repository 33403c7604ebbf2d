using System.Text.Json.Nodes;
using Kubestead.Kubernetes;

namespace Kubestead.Sandbox.Tests.RealCluster;

/// <summary>
/// The part of a controller manager the real-cluster tests need: the kit's kube-apiserver runs no controllers, so this
/// watches the Deployments of one namespace (also those Kubestead creates or changes) and marks each one's current
/// generation fully ready through the status subresource.
/// </summary>
public sealed class ReadinessController : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public ReadinessController(IKubernetesApi admin, string ns)
    {
        _loop = Task.Run(() => RunAsync(admin, ns, _stop.Token));
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> _held = new();

    /// <summary>Leaves this Deployment's status to the test from now on (a degraded stable, as a crashing pod makes it).</summary>
    public void Hold(string deployment) => _held[deployment] = true;

    /// <summary>How many status writes it made (a test can tell that its Deployments were handled).</summary>
    public int StatusWrites;

    private async Task RunAsync(IKubernetesApi api, string ns, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await foreach (var e in api.WatchAsync(ResourceType.Deployment, ns, new WatchOptions(Timeout: TimeSpan.FromMinutes(5)), ct))
                    if (e.Type is WatchEventType.Added or WatchEventType.Modified && !_held.ContainsKey(e.Object["metadata"]!["name"]!.GetValue<string>())
                        && NeedsStatus(e.Object, out var status))
                        await MarkReadyAsync(api, ns, e.Object["metadata"]!["name"]!.GetValue<string>(), status, ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (KubernetesApiException)
            {
                // A conflict with another writer or a dropped watch: start over from a fresh list.
            }
        }
    }

    private async Task MarkReadyAsync(IKubernetesApi api, string ns, string name, JsonObject status, CancellationToken ct)
    {
        try
        {
            await api.PatchSubresourceAsync(ResourceType.Deployment, ns, name, "status", new MergePatch(new JsonObject { ["status"] = status }), ct);
            Interlocked.Increment(ref StatusWrites);
        }
        catch (KubernetesApiException e) when (e.IsNotFound)
        {
        }
    }

    private static bool NeedsStatus(JsonObject d, out JsonObject status)
    {
        var replicas = d["spec"]?["replicas"]?.GetValue<int>() ?? 1;
        var generation = d["metadata"]?["generation"]?.GetValue<long>() ?? 1;
        status = new JsonObject
        {
            ["observedGeneration"] = generation, ["replicas"] = replicas, ["updatedReplicas"] = replicas,
            ["readyReplicas"] = replicas, ["availableReplicas"] = replicas,
        };
        var current = d["status"] as JsonObject;
        return !(current?["observedGeneration"]?.GetValue<long>() == generation && current["replicas"]?.GetValue<int>() == replicas
                 && current["readyReplicas"]?.GetValue<int>() == replicas && current["availableReplicas"]?.GetValue<int>() == replicas
                 && current["updatedReplicas"]?.GetValue<int>() == replicas);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }
        _stop.Dispose();
    }
}
