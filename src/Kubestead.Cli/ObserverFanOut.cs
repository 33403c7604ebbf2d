using Kubestead.Controller;
using Kubestead.Rollouts.Engine;

namespace Kubestead.Cli;

/// <summary>Hands every controller and rollout event to several observers (the JSON log and the metrics).</summary>
public sealed class ObserverFanOut(params object[] observers) : IControllerObserver, IRolloutObserver
{
    private readonly IControllerObserver[] _controller = observers.OfType<IControllerObserver>().ToArray();
    private readonly IRolloutObserver[] _rollout = observers.OfType<IRolloutObserver>().ToArray();

    public void OnEvent(ControllerEvent e)
    {
        foreach (var o in _controller) o.OnEvent(e);
    }

    public void OnEvent(RolloutEvent e)
    {
        foreach (var o in _rollout) o.OnEvent(e);
    }
}
