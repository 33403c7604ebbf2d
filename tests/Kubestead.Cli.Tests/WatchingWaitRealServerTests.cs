using System.Text.RegularExpressions;
using Kubestead.Kubernetes;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Tests.RealCluster;
using Kubestead.Tests.Shared;
using Xunit.Abstractions;

namespace Kubestead.Cli.Tests;

/// <summary>
/// Issue #26 item 11 on the real kube-apiserver with wall-clock Leases: `kubestead wait` run while another `kubestead start`
/// process drives the rollout follows it (prints each step, verdict and phase, ends with its outcome within seconds,
/// writes nothing), and drives it itself only once that process stops renewing its Lease (SIGSTOP). The rollout sits in
/// its analysis step (the stand-in Prometheus serves no canary traffic) until the test opens the gate, so the watcher
/// surely starts mid-rollout however slow the machine is.
/// </summary>
public sealed partial class WatchingWaitRealServerTests(ITestOutputHelper output)
{
    private const string App = "app";
    private const int Sigcont = 18;
    private const int Sigstop = 19;

    private static string Kubeconfig => RealApiServer.Kubeconfig;

    private sealed class World : IAsyncDisposable
    {
        public required IKubernetesApi Admin { get; init; }
        public required string Namespace { get; init; }
        public required ReadinessController Readiness { get; init; }
        public required GatedCanaryPrometheus Prometheus { get; init; }
        public required string SpecFile { get; init; }
        public RolloutStateStore Store => new(Admin);

        public static async Task<World> CreateAsync()
        {
            IKubernetesApi admin = RealApiServer.Connect(Kubeconfig, "admin");
            var ns = await RealApiServer.CreateNamespaceAsync(admin, "kswatch", maxLength: 16);
            await admin.CreateAsync(ResourceType.Deployment, ns, ControllerTestApp.Deployment(ns, App));
            await admin.CreateAsync(ResourceType.Service, ns, ControllerTestApp.Service(ns, App));
            var prometheus = new GatedCanaryPrometheus();
            var file = Path.Combine(Path.GetTempPath(), $"kubestead-watch-{Guid.NewGuid():N}.yaml");
            await File.WriteAllTextAsync(file, ControllerTestApp.AnalysisRolloutSpec(ns, App, prometheus.Address));
            return new World { Admin = admin, Namespace = ns, Readiness = new ReadinessController(admin, ns), Prometheus = prometheus, SpecFile = file };
        }

        public string[] Connection => ["--kubeconfig", Kubeconfig, "--context", "admin"];

        public async Task<string> LeaseHolderAsync() =>
            (await Admin.GetAsync(ResourceType.Lease, Namespace, RolloutLease.ObjectName(App)))["spec"]?["holderIdentity"]?.GetValue<string>() ?? "";

        public async ValueTask DisposeAsync()
        {
            await Readiness.DisposeAsync();
            Prometheus.Dispose();
            File.Delete(SpecFile);
        }
    }

    /// <summary>The lines of a process's output that report a request that writes (its --verbose request log).</summary>
    private static List<string> Writes(ChildProcess process) =>
        process.Out.Split('\n').Where(l => WriteRequest().IsMatch(l)).ToList();

    [GeneratedRegex(@" (POST|PUT|PATCH|DELETE) /")]
    private static partial Regex WriteRequest();

    /// <summary>When a process printed its first line containing <paramref name="text"/> (the HH:mm:ss every line starts with).</summary>
    private static TimeSpan PrintedAt(ChildProcess process, string text)
    {
        var line = process.Out.Split('\n').First(l => l.Contains(text, StringComparison.Ordinal));
        return TimeSpan.ParseExact(line[..8], @"hh\:mm\:ss", System.Globalization.CultureInfo.InvariantCulture);
    }

    [RealServerFact]
    public async Task A_wait_on_a_rollout_another_process_drives_prints_its_steps_verdicts_and_phases_ends_with_it_and_writes_nothing()
    {
        await using var world = await World.CreateAsync();
        using var driver = ChildProcess.Start(["start", "-f", world.SpecFile, .. world.Connection]);
        using var watcher = await StartWatcherInAnalysisAsync(world, driver);

        // What a driving wait would print of where the rollout is, then the watch itself.
        await watcher.WaitForOutputAsync(l => l.Contains("step 2/2: analysis", StringComparison.Ordinal), TimeSpan.FromSeconds(120), "the analysis step");
        await watcher.WaitForOutputAsync(l => l.Contains("traffic: stable 50% / canary 50%", StringComparison.Ordinal), TimeSpan.FromSeconds(120), "the split");
        world.Prometheus.Open();

        Assert.True(await driver.WaitForExitAsync(TimeSpan.FromMinutes(5)), $"the driver did not end:\n{driver.Out}\n{driver.Err}");
        Assert.True(await watcher.WaitForExitAsync(TimeSpan.FromSeconds(90)), $"the watcher did not end:\n{watcher.Out}\n{watcher.Err}");
        output.WriteLine(watcher.Out);

        Assert.Equal(0, driver.ExitCode);
        Assert.Equal(0, watcher.ExitCode);
        // Followed every 2 s: it tells the end within seconds of the driver (by the times both printed, so a slow process
        // exit on a loaded machine does not count), where it used to look again only every 30 s.
        var late = PrintedAt(watcher, "phase Completed") - PrintedAt(driver, "phase Completed");
        Assert.True(late < TimeSpan.FromSeconds(15), $"the watcher told the end {late.TotalSeconds:0} s after the driver");
        var lines = watcher.Out.Split('\n');
        Assert.Contains(lines, l => l.Contains("success-rate: Pass", StringComparison.Ordinal));
        Assert.Single(lines, l => l.Contains("phase Completed", StringComparison.Ordinal));
        Assert.Single(lines, l => l.Contains("step 2/2: analysis", StringComparison.Ordinal));
        // Its request log is complete (the reads are there), and it holds no write: the follower never writes.
        Assert.Contains(lines, l => l.Contains($"GET /api/v1/namespaces/{world.Namespace}/configmaps/kubestead-{App}", StringComparison.Ordinal));
        Assert.Empty(Writes(watcher));
        var status = (await world.Store.LoadAsync(world.Namespace, App)).Status;
        Assert.Equal(RolloutPhase.Completed, status.Phase);
        Assert.DoesNotContain(status.History, h => !h.Driver.Equals(status.History[0].Driver, StringComparison.Ordinal));
    }

    [RealServerFact]
    public async Task A_wait_takes_over_only_once_the_driving_process_stops_renewing_its_lease_and_drives_the_rollout_to_the_end()
    {
        await using var world = await World.CreateAsync();
        using var driver = ChildProcess.Start(["start", "-f", world.SpecFile, .. world.Connection]);
        using var watcher = await StartWatcherInAnalysisAsync(world, driver);
        var first = await world.LeaseHolderAsync();
        Assert.NotEqual("", first);

        driver.Signal(Sigstop);
        try
        {
            // Its Lease (60 s) stands unchanged: the watcher says so, then takes the rollout over and drives it.
            await watcher.WaitForOutputAsync(l => l.Contains("is not being renewed", StringComparison.Ordinal), TimeSpan.FromSeconds(180), "the lapse");
            Assert.Empty(Writes(watcher));
            var until = DateTime.UtcNow + TimeSpan.FromSeconds(180);
            while (await world.LeaseHolderAsync() is var holder && (holder == first || holder == ""))
            {
                Assert.True(DateTime.UtcNow < until, $"the watcher did not take the Lease:\n{watcher.Out}\n{watcher.Err}");
                await Task.Delay(200);
            }
            world.Prometheus.Open();
            Assert.True(await watcher.WaitForExitAsync(TimeSpan.FromMinutes(3)), $"the watcher did not end:\n{watcher.Out}\n{watcher.Err}");
            output.WriteLine(watcher.Out);
            Assert.Equal(0, watcher.ExitCode);
        }
        finally
        {
            driver.Signal(Sigcont);
        }

        // The stopped driver, continued, finds its Lease taken and stops without writing over the watcher's outcome.
        Assert.True(await driver.WaitForExitAsync(TimeSpan.FromSeconds(90)), $"the continued driver did not end:\n{driver.Out}\n{driver.Err}");
        Assert.NotEqual(0, driver.ExitCode);
        var status = (await world.Store.LoadAsync(world.Namespace, App)).Status;
        Assert.Equal(RolloutPhase.Completed, status.Phase);
        Assert.Contains(status.History, h => h.Kind == "complete" && h.Driver != first);
    }

    /// <summary>Waits until the driver is in its analysis step, then starts `wait --verbose` and waits until it says it follows.</summary>
    private static async Task<ChildProcess> StartWatcherInAnalysisAsync(World world, ChildProcess driver)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(240);
        while ((await world.Store.TryLoadAsync(world.Namespace, App))?.Status is not { StepIndex: 1, Phase: RolloutPhase.Progressing })
        {
            Assert.True(DateTime.UtcNow < until && !driver.HasExited, $"the driver did not reach its analysis step:\n{driver.Out}\n{driver.Err}");
            await Task.Delay(200);
        }
        var watcher = ChildProcess.Start(["wait", App, "-n", world.Namespace, "--verbose", .. world.Connection]);
        // Generous: on a loaded 2-core machine a process start alone has taken most of a minute.
        await watcher.WaitForOutputAsync(l => l.Contains($"rollout {App} is driven by", StringComparison.Ordinal), TimeSpan.FromSeconds(180), "the watch");
        return watcher;
    }
}
