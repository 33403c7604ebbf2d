using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Demo;

namespace Kubestead.Sandbox.Tests.Engine;

/// <summary>
/// The driver-kill pattern of the interrupt tests: a clean run lists the writes of a rollout, a first driver dies at one
/// of them, and a second driver takes over once the dead one's Lease has expired.
/// </summary>
internal static class DriverKills
{
    /// <summary>The writes an uninterrupted healthy rollout of <paramref name="spec"/> makes, so a crash can be placed inside each.</summary>
    public static async Task<IReadOnlyList<string>> WritesOfACleanRunAsync(string mesh, string spec)
    {
        var env = SandboxEnvironment.Create(mesh, "healthy");
        var before = env.Cluster.Writes.Count;
        await using var svc = env.CreateService(NullRolloutObserver.Instance);
        var result = await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = spec }, wait: true));
        Assert.Equal(RolloutPhase.Completed, result.Phase);
        return env.Cluster.Writes.Skip(before).ToList();
    }

    /// <summary>Starts <paramref name="spec"/> with a driver that dies at the write the test made fail.</summary>
    public static async Task FirstDriverDiesAsync(SandboxEnvironment env, string spec)
    {
        await using var first = env.CreateService(NullRolloutObserver.Instance, "first");
        try
        {
            await Task.Run(() => first.StartAsync(new StartRequest { SpecYaml = spec }, wait: true));
        }
        catch (Exception e) when (e is KubernetesApiException or KubesteadException)
        {
            // the driver died at the failing write
        }
    }

    /// <summary>The next driver, once the dead driver's Lease (if it took one) has expired: nobody else may drive before.</summary>
    public static async Task<KubesteadService> SecondDriverAsync(SandboxEnvironment env)
    {
        var second = env.CreateService(NullRolloutObserver.Instance, "second");
        if (env.Cluster.Peek(ResourceType.Lease, ShopFixture.Namespace, "kubestead-shop")?["spec"]?["holderIdentity"]?.GetValue<string>() is { Length: > 0 })
            await Task.Delay(TimeSpan.FromSeconds(61), env.Clock);
        return second;
    }
}
