namespace Kubestead.Rollouts.Engine;

/// <summary>
/// One request to the Kubernetes API: method, path (no query) and status, never a header, so never a credential. A
/// verbose event to hosts that treat all alike (the CLI's --verbose); the PowerShell host writes it to the debug stream,
/// since a line per request drowns the rollout's own verbose lines. Rollout is empty: a connection serves several.
/// </summary>
public sealed record ApiRequestEvent(DateTimeOffset At, string Namespace, string Text)
    : VerboseEvent(At, Namespace, "", Text);
