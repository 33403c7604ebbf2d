using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Demo;
using Kubestead.Sandbox.Server;
using Kubestead.Sandbox.Tests.Demo;

namespace Kubestead.Sandbox.Tests.Engine;

/// <summary>Every router end to end through the real HTTP client and the sandbox API server (not the in-process store).</summary>
public class OverHttpTests
{
    [Theory]
    [InlineData("istio", "healthy", RolloutPhase.Completed)]
    [InlineData("linkerd", "faulty", RolloutPhase.Aborted)]
    [InlineData("smi", "healthy", RolloutPhase.Completed)]
    [InlineData("none", "low-traffic", RolloutPhase.Paused)]
    public async Task A_rollout_through_the_http_api_ends_like_in_process(string mesh, string scenario, RolloutPhase expected)
    {
        var env = SandboxEnvironment.Create(mesh, scenario);
        await using var server = await SandboxApiServer.StartAsync(env.Cluster);
        var kubeconfig = Path.Combine(Path.GetTempPath(), $"kubestead-http-{Guid.NewGuid():N}.yaml");
        server.WriteKubeconfig(kubeconfig, ShopFixture.Namespace);
        try
        {
            await using var client = new KubernetesClientAdapter(KubeConfigResolver.Resolve(kubeconfig), env.Clock);
            await using var service = new KubesteadService(client, new KubesteadServiceOptions
            {
                Clock = env.Clock, Metrics = env.Traffic.Metrics, Driver = new DriverIdentity("http", "test", null, "1"),
            });
            var result = await Task.Run(() => service.StartAsync(new StartRequest { SpecYaml = SandboxDemoTests.SpecFor(mesh) }, wait: true));
            Assert.Equal(expected, result.Phase);
            Assert.True(client.RequestCount > 20);
        }
        finally
        {
            File.Delete(kubeconfig);
        }
    }
}
