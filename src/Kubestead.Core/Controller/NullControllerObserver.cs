namespace Kubestead.Controller;

public sealed class NullControllerObserver : IControllerObserver
{
    public static readonly NullControllerObserver Instance = new();

    public void OnEvent(ControllerEvent e)
    {
    }
}
