using Kubestead.Rollouts.Engine;

namespace Kubestead.PowerShell;

/// <summary>
/// The observer a session's kept connection was made with: it passes each event to the cmdlet call in progress, since
/// one connection serves many calls and cmdlets in turn.
/// </summary>
internal sealed class RoutingObserver : IRolloutObserver
{
    public volatile IRolloutObserver? Target;

    public void OnEvent(RolloutEvent e) => Target?.OnEvent(e);
}
