using Kubestead.Analysis;
using Kubestead.Kubernetes;
using Kubestead.Metrics;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Demo;
using Kubestead.Sandbox.Tests.Demo;

namespace Kubestead.Sandbox.Tests.Engine;

/// <summary>
/// The scrape-interval read (once per drive, issue #29 item 4) waits on the metrics store, which no Lease renewal covers:
/// a driver must make it before it takes the Lease, or a slow store lets the Lease lapse under it (issue #26).
/// </summary>
public class ScrapeIntervalBeforeLeaseTests
{
    /// <summary>A metrics store whose scrape-interval answer takes five minutes (virtual), noting who held the Lease meanwhile.</summary>
    private sealed class SlowScrapeSource(MetricWindowQuery inner, SandboxEnvironment env, List<string> holdersDuringRead) : IScrapeIntervalSource
    {
        public Task<MetricWindow> QueryAsync(DateTimeOffset start, DateTimeOffset end, CancellationToken ct) => inner(start, end, ct);

        public async Task<ScrapeIntervalReading> ReadScrapeIntervalAsync(CancellationToken ct)
        {
            var lease = env.Cluster.Peek(ResourceType.Lease, ShopFixture.Namespace, "kubestead-shop");
            lock (holdersDuringRead) holdersDuringRead.Add(lease?["spec"]?["holderIdentity"]?.GetValue<string>() ?? "");
            await Task.Delay(TimeSpan.FromMinutes(5), env.Clock, ct);
            return new ScrapeIntervalReading(TimeSpan.FromSeconds(10), "scraped every 10s (slow store)");
        }
    }

    private static KubesteadService SlowMetricsService(SandboxEnvironment env, string driver, List<string> holders)
    {
        var metrics = env.Traffic.Metrics;
        return new KubesteadService(env.Cluster, new KubesteadServiceOptions
        {
            Clock = env.Clock,
            Observer = NullRolloutObserver.Instance,
            Driver = new DriverIdentity(driver, "sandbox", null, driver),
            Metrics = (spec, metric) => new SlowScrapeSource(metrics(spec, metric), env, holders).QueryAsync,
        });
    }

    [Fact]
    public async Task Start_reads_the_scrape_interval_before_it_takes_the_lease()
    {
        var env = SandboxEnvironment.Create("istio", "healthy");
        var holders = new List<string>();
        await using var starter = SlowMetricsService(env, "starter", holders);

        var done = await Task.Run(() => starter.StartAsync(new StartRequest { SpecYaml = SandboxDemoTests.SpecFor("istio") }, wait: true));

        Assert.True(done.Phase == RolloutPhase.Completed, $"{done.Phase}: {done.Message}");
        Assert.NotEmpty(holders);
        Assert.DoesNotContain(holders, h => h.StartsWith("starter", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Wait_reads_the_scrape_interval_before_it_takes_the_lease()
    {
        var env = SandboxEnvironment.Create("istio", "healthy");
        await using (var starter = env.CreateService(NullRolloutObserver.Instance, "starter"))
            await Task.Run(() => starter.StartAsync(new StartRequest { SpecYaml = SandboxDemoTests.SpecFor("istio") }, wait: false));
        var holders = new List<string>();
        await using var waiter = SlowMetricsService(env, "waiter", holders);

        var done = await Task.Run(() => waiter.WaitAsync(ShopFixture.Namespace, "shop", null));

        Assert.True(done.Phase == RolloutPhase.Completed, $"{done.Phase}: {done.Message}");
        Assert.Single(holders);
        Assert.DoesNotContain(holders, h => h.StartsWith("waiter", StringComparison.Ordinal));
    }
}
