namespace Kubestead.Controller;

/// <summary>Whether a controller replica is ready to take rollouts (/readyz), and why not.</summary>
public sealed record ControllerReadiness(bool IsReady, string Detail);
