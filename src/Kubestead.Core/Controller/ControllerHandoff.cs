using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Rollouts.State;

namespace Kubestead.Controller;

/// <summary>
/// Marks a rollout's state ConfigMap as driven by controllers. A label (not a status field) so controllers can watch
/// exactly these ConfigMaps with a label selector, and so a CI-driven rollout is never taken by a controller that
/// merely sees its Lease expire (its driver may only be restarting), unless its spec opts in (<see cref="AdoptableValue"/>).
/// </summary>
public static class ControllerHandoff
{
    public const string DriverLabel = "kubestead.io/driver";
    public const string ControllerValue = "controller";

    /// <summary>
    /// A rollout its own driver (a CI job) drives, whose spec lets controllers take it over once that driver's Lease
    /// expires (<c>spec.controller.adopt</c>). A live driver keeps its Lease, so controllers never take it while it runs.
    /// </summary>
    public const string AdoptableValue = "adoptable";

    /// <summary>The state ConfigMaps controllers watch: handed to them, or adoptable when their driver dies.</summary>
    public static readonly string StateSelector =
        $"{RolloutStateStore.ManagedByLabel}=kubestead,{RolloutStateStore.ComponentLabel}=rollout-state,{DriverLabel} in ({ControllerValue},{AdoptableValue})";

    /// <summary>The rollouts' Leases (not the controllers' heartbeats, which carry no rollout label).</summary>
    public static readonly string LeaseSelector = $"{RolloutStateStore.ManagedByLabel}=kubestead,{RolloutStateStore.RolloutLabel}";

    /// <summary>Hands a recorded rollout to controllers: one merge patch of the label, nothing else changes.</summary>
    public static async Task HandOverAsync(IKubernetesApi api, string ns, string rollout, CancellationToken ct = default)
    {
        var patch = new MergePatch(new JsonObject
        {
            ["metadata"] = new JsonObject { ["labels"] = new JsonObject { [DriverLabel] = ControllerValue } },
        });
        await api.PatchAsync(ResourceType.ConfigMap, ns, RolloutStateStore.ObjectName(rollout), patch, ct).ConfigureAwait(false);
    }
}
