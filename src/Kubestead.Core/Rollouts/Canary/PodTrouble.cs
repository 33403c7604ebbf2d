using System.Text.Json.Nodes;

namespace Kubestead.Rollouts.Canary;

/// <summary>
/// Why a Deployment's pods are not ready, read from the objects Kubernetes already fills in: a container's
/// <c>state.waiting.reason</c> (CrashLoopBackOff, ImagePullBackOff, CreateContainerConfigError), its last termination
/// (OOMKilled, Error), a pod that cannot be scheduled, or the Deployment's ReplicaFailure condition when no pod exists.
/// </summary>
public static class PodTrouble
{
    private const int MaxDetail = 160;

    /// <summary>One line naming the first pod in trouble and its reason, or null when nothing says why.</summary>
    public static string? Describe(JsonObject deployment, IReadOnlyList<JsonObject> pods)
    {
        foreach (var pod in pods)
            if (DescribePod(pod) is { } text) return text;
        return FromDeployment(deployment) ?? (pods.Count == 0 ? "no pods exist yet" : null);
    }

    /// <summary>What the Deployment's own conditions say (for when its pods cannot be read), or null.</summary>
    public static string? FromDeployment(JsonObject deployment)
    {
        if (Condition(deployment, "ReplicaFailure", "True") is { } failure)
            return $"no pod could be created: {Detail(failure["reason"], failure["message"])}";
        if (Condition(deployment, "Progressing", "False") is { } stuck)
            return $"Deployment progress stopped: {Detail(stuck["reason"], stuck["message"])}";
        return null;
    }

    private static string? DescribePod(JsonObject pod)
    {
        var name = pod["metadata"]?["name"]?.GetValue<string>() ?? "(unnamed)";
        var status = pod["status"];
        foreach (var field in new[] { "initContainerStatuses", "containerStatuses" })
        {
            if (status?[field] is not JsonArray containers) continue;
            foreach (var c in containers.OfType<JsonObject>())
            {
                if (c["ready"]?.GetValue<bool>() == true) continue;
                var container = c["name"]?.GetValue<string>() ?? "?";
                var restarts = c["restartCount"]?.GetValue<int>() ?? 0;
                var restartText = restarts > 0 ? $", {restarts} restarts" : "";
                if (c["state"]?["waiting"] is JsonObject waiting && waiting["reason"] is not null)
                {
                    var last = c["lastState"]?["terminated"] is JsonObject t && t["reason"] is { } lr ? $"; last exit: {lr.GetValue<string>()}" : "";
                    return $"pod {name}: container {container} is {Detail(waiting["reason"], waiting["message"])}{last}{restartText}";
                }
                if (c["state"]?["terminated"] is JsonObject terminated && terminated["reason"] is not null)
                    return $"pod {name}: container {container} terminated: {Detail(terminated["reason"], terminated["message"])}{restartText}";
            }
        }
        if (status?["conditions"] is JsonArray conditions
            && conditions.OfType<JsonObject>().FirstOrDefault(c => c["type"]?.GetValue<string>() == "PodScheduled" && c["status"]?.GetValue<string>() == "False") is { } unscheduled)
            return $"pod {name}: not scheduled: {Detail(unscheduled["reason"], unscheduled["message"])}";
        return null;
    }

    private static JsonObject? Condition(JsonObject deployment, string type, string value) =>
        (deployment["status"]?["conditions"] as JsonArray)?.OfType<JsonObject>()
        .FirstOrDefault(c => c["type"]?.GetValue<string>() == type && c["status"]?.GetValue<string>() == value);

    private static string Detail(JsonNode? reason, JsonNode? message)
    {
        var r = reason?.GetValue<string>() ?? "unknown reason";
        var m = message?.GetValue<string>();
        if (string.IsNullOrWhiteSpace(m)) return r;
        // Kubelet messages can run to whole stack traces; the reason plus the start of the message is what a person acts on.
        m = m.ReplaceLineEndings(" ");
        return $"{r} ({(m.Length > MaxDetail ? m[..MaxDetail] + "…" : m)})";
    }
}
