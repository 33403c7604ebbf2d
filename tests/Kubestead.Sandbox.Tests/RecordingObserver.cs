using Kubestead.Rollouts.Engine;

namespace Kubestead.Sandbox.Tests;

/// <summary>Every event a rollout's observer saw, in order (thread-safe: drives report from their own tasks).</summary>
internal sealed class RecordingObserver : IRolloutObserver
{
    public List<RolloutEvent> Events { get; } = new();

    public void OnEvent(RolloutEvent e)
    {
        lock (Events) Events.Add(e);
    }
}
