namespace Kubestead.Controller;

/// <summary>
/// What a controller replica asks of the API server beyond what one rollout's driver needs (the start preflight's list,
/// <c>StartPreflight.Permissions</c>). deploy/'s Roles are that list, unioned over every mesh, plus these; a test keeps
/// them equal, so a new call in the engine or the controller shows up as a missing rule rather than a 403 in a pod.
/// </summary>
public static class ControllerPermissions
{
    /// <summary>
    /// In every namespace it drives: the informer lists and watches the state ConfigMaps and the rollouts' Leases (a watch
    /// begun without a resourceVersion lists first, so the Leases need <c>list</c> too); the engine's read cache
    /// (<see cref="ControllerReadCache"/>) lists and watches the Deployments.
    /// </summary>
    public static readonly IReadOnlyList<(string Group, string Resource, string Verb)> InRolloutNamespaces =
    [
        ("", "configmaps", "list"),
        ("", "configmaps", "watch"),
        ("coordination.k8s.io", "leases", "list"),
        ("coordination.k8s.io", "leases", "watch"),
        ("apps", "deployments", "list"),
        ("apps", "deployments", "watch"),
    ];

    /// <summary>
    /// Asked for, but a rollout runs without them: Events (the preflight only warns), a stuck canary's pods (read for the
    /// reason it is not ready) and autoscalers (a 403 reads as "no autoscaler", which is wrong only where one exists).
    /// </summary>
    public static readonly IReadOnlyList<(string Group, string Resource, string Verb)> Courtesy =
    [
        .. Rollouts.Start.StartPreflight.EventVerbs.Select(v => ("events.k8s.io", "events", v)),
        ("", "pods", "list"),
        ("autoscaling", "horizontalpodautoscalers", "list"),
    ];

    /// <summary>In the controller's own namespace: the replicas' heartbeat Leases (written, listed and watched by each replica).</summary>
    public static readonly IReadOnlyList<(string Group, string Resource, string Verb)> InHomeNamespace =
    [
        ("coordination.k8s.io", "leases", "get"),
        ("coordination.k8s.io", "leases", "list"),
        ("coordination.k8s.io", "leases", "watch"),
        ("coordination.k8s.io", "leases", "create"),
        ("coordination.k8s.io", "leases", "update"),
        ("coordination.k8s.io", "leases", "delete"),
    ];
}
