using Kubestead.LoadTests;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Demo;
using Kubestead.Sandbox.Tests.Demo;

namespace Kubestead.Sandbox.Tests.LoadTests;

/// <summary>Nothing of a load test outlives the drive that started it, however the drive ends.</summary>
public class LoadTestLifecycleTests
{
    /// <summary>Records when its runs start and end around the real generator.</summary>
    private sealed class TrackedGenerator(ILoadGenerator inner) : ILoadGenerator
    {
        private int _running;

        public int Started;
        public int Running => Volatile.Read(ref _running);

        public async Task<LoadTestTally> RunAsync(LoadTestRun run, CancellationToken ct)
        {
            Interlocked.Increment(ref Started);
            Interlocked.Increment(ref _running);
            try
            {
                return await inner.RunAsync(run, ct);
            }
            finally
            {
                Interlocked.Decrement(ref _running);
            }
        }
    }

    private sealed class CancelOnLoadTest(CancellationTokenSource cts) : IRolloutObserver
    {
        public List<RolloutEvent> Seen { get; } = new();

        public void OnEvent(RolloutEvent e)
        {
            lock (Seen) Seen.Add(e);
            if (e is VerboseEvent v && v.Text.StartsWith("load test started", StringComparison.Ordinal)) cts.Cancel();
        }
    }

    private static KubesteadService Service(SandboxEnvironment env, IRolloutObserver observer, ILoadGenerator generator) => new(env.Cluster, new KubesteadServiceOptions
    {
        Clock = env.Clock,
        Observer = observer,
        Driver = new DriverIdentity("t", "h", null, "1"),
        Metrics = env.Traffic.Metrics,
        LoadGenerator = generator,
    });

    [Fact]
    public async Task An_interrupted_drive_stops_and_awaits_its_load_test_before_it_returns()
    {
        var env = SandboxEnvironment.Create("istio", LoadTestRolloutTests.Quiet(0.001));
        var generator = new TrackedGenerator(env.Traffic.LoadGenerator);
        using var cts = new CancellationTokenSource();
        var observer = new CancelOnLoadTest(cts);
        await using var svc = Service(env, observer, generator);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Task.Run(() =>
            svc.StartAsync(new StartRequest { SpecYaml = LoadTestRolloutTests.WithLoadTest(SandboxDemoTests.SpecFor("istio")) }, wait: true, cts.Token)));

        Assert.Equal(1, generator.Started);
        Assert.Equal(0, generator.Running);
        Assert.Contains(observer.Seen, e => e is VerboseEvent v && v.Text.StartsWith("load test ended", StringComparison.Ordinal));
        // The simulator gets no more synthetic requests once the drive has returned.
        env.Traffic.CatchUp();
        var before = env.Traffic.Simulator.AllSyntheticTotals();
        ((VirtualClock)env.Clock).Advance(TimeSpan.FromMinutes(5));
        env.Traffic.CatchUp();
        Assert.Equal(before, env.Traffic.Simulator.AllSyntheticTotals());
    }

    [Fact]
    public async Task The_load_test_runs_only_during_analysis_steps()
    {
        var env = SandboxEnvironment.Create("istio", LoadTestRolloutTests.Quiet(0.001));
        var generator = new TrackedGenerator(env.Traffic.LoadGenerator);
        var observer = new RecordingObserver();
        await using var svc = Service(env, observer, generator);
        var result = await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = LoadTestRolloutTests.WithLoadTest(SandboxDemoTests.SpecFor("istio")) }, wait: true));
        Assert.Equal(RolloutPhase.Completed, result.Phase);
        Assert.Equal(0, generator.Running);
        // The istio demo has three analysis steps, each with steps between them: one run each.
        Assert.Equal(3, generator.Started);
        List<RolloutEvent> events;
        lock (observer.Events) events = observer.Events.ToList();
        var analysisSteps = events.OfType<StepStartedEvent>().Where(s => s.Step.StartsWith("analysis", StringComparison.Ordinal)).ToList();
        var started = events.OfType<VerboseEvent>().Where(v => v.Text.StartsWith("load test started", StringComparison.Ordinal)).ToList();
        Assert.Equal(analysisSteps.Select(s => s.At), started.Select(s => s.At));
    }
}
