using System.Text.Json.Nodes;
using Kubestead.Kubernetes;

namespace Kubestead.Traffic;

/// <summary>
/// A HorizontalPodAutoscaler owns the stable Deployment's replica count. Without a mesh the canary's share is a replica
/// ratio, so keepTotal (taking replicas from stable) would fight the HPA and can go below its minimum: refused.
/// </summary>
public static class HpaGuard
{
    public static readonly ResourceType HorizontalPodAutoscaler = new("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler");

    /// <summary>The HPA that scales <paramref name="deployment"/>, or null (also when HPAs cannot be listed: no HPA API or no permission).</summary>
    public static async Task<JsonObject?> FindAsync(IKubernetesApi api, string ns, string deployment, CancellationToken ct)
    {
        ObjectList list;
        try
        {
            list = await api.ListAsync(HorizontalPodAutoscaler, ns, null, ct).ConfigureAwait(false);
        }
        catch (KubernetesApiException e) when (e.IsNotFound || e.StatusCode == 403)
        {
            return null;
        }
        return list.Items.FirstOrDefault(h => h["spec"]?["scaleTargetRef"]?["kind"]?.GetValue<string>() == "Deployment"
                                              && h["spec"]?["scaleTargetRef"]?["name"]?.GetValue<string>() == deployment);
    }

    /// <summary>
    /// The stable replicas an autoscaled split is sized for: the count the autoscaler runs now (stable's
    /// <c>spec.replicas</c>, which it writes), never below its <c>minReplicas</c> nor above its <c>maxReplicas</c>.
    /// </summary>
    public static int StableReplicas(JsonObject hpa, JsonObject stable)
    {
        var current = stable["spec"]?["replicas"]?.GetValue<int>() ?? 1;
        var min = hpa["spec"]?["minReplicas"]?.GetValue<int>() ?? 1;
        var max = hpa["spec"]?["maxReplicas"]?.GetValue<int>() ?? int.MaxValue;
        return Math.Clamp(current, Math.Max(1, min), Math.Max(min, max));
    }
}
