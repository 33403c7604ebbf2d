using Kubestead.Rollouts.Engine;

namespace Kubestead.Rollouts.State;

/// <summary>A driver resuming from the stored spec found a metrics address whose credentials were masked when it was stored.</summary>
public sealed class StoredCredentialsRedactedException(string ns, string name, string field)
    : RolloutException("StoredCredentialsRedacted", KubesteadErrorKind.InvalidInput,
        $"{field}: rollout '{name}' in namespace '{ns}' was started with credentials in this URL, and the copy of the spec kept in " +
        $"ConfigMap {RolloutStateStore.ObjectName(name)} stores them masked, so only the process that started it could query it. " +
        "Move the credentials to basicAuth (password: {file: path} or {secret: {name, key}}), then abort and start the rollout again; nothing was changed",
        $"configmaps/{RolloutStateStore.ObjectName(name)} in namespace {ns}")
{
    public string Field { get; } = field;
}
