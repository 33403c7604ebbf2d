using Kubestead.Rollouts;

namespace Kubestead.Controller;

/// <summary>The one engine call the controller makes per rollout (<see cref="KubesteadService.DriveIfFreeAsync"/>).</summary>
public interface IRolloutDriver
{
    Task<DriveAttempt> DriveIfFreeAsync(string ns, string name, CancellationToken ct);
}
