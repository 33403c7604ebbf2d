using System.Text.Json.Nodes;

namespace Kubestead.Sandbox.Cluster;

/// <summary>
/// What kube-apiserver's autoscaling/v2 defaulting does to a HorizontalPodAutoscaler: <c>minReplicas</c> 1, a CPU
/// utilization target of 80% when no metric is given, and the scale-up and scale-down rules filled in once a
/// <c>behavior</c> is given (scale-up: no stabilization, the larger of 4 pods or 100% per 15 s; scale-down: 300 s
/// stabilization, 100% per 15 s). Its status is a subresource: a new HPA starts with <c>desiredReplicas: 0</c>.
/// </summary>
internal static class HpaDefaulter
{
    public static void Apply(JsonObject hpa)
    {
        if (hpa["spec"] is not JsonObject spec) return;
        spec["minReplicas"] ??= 1;
        if (spec["metrics"] is not JsonArray { Count: > 0 })
            spec["metrics"] = JsonNode.Parse("""[{"type":"Resource","resource":{"name":"cpu","target":{"type":"Utilization","averageUtilization":80}}}]""");
        if (spec["behavior"] is JsonObject behavior)
        {
            Rules(behavior, "scaleUp", 0, """[{"type":"Pods","value":4,"periodSeconds":15},{"type":"Percent","value":100,"periodSeconds":15}]""");
            Rules(behavior, "scaleDown", 300, """[{"type":"Percent","value":100,"periodSeconds":15}]""");
        }
    }

    private static void Rules(JsonObject behavior, string direction, int stabilization, string policies)
    {
        var rules = behavior[direction] as JsonObject ?? new JsonObject();
        behavior[direction] = rules;
        rules["stabilizationWindowSeconds"] ??= stabilization;
        rules["selectPolicy"] ??= "Max";
        rules["policies"] ??= JsonNode.Parse(policies);
    }

    /// <summary>The status of an HPA nobody has evaluated yet, as the real server stores it.</summary>
    public static JsonObject InitialStatus() => new() { ["desiredReplicas"] = 0, ["currentMetrics"] = null };
}
