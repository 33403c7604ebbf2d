using System.Text.Json;
using System.Text.Json.Nodes;
using Kubestead.Analysis;
using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Sandbox.Demo;
using Kubestead.Sandbox.Tests.Demo;

namespace Kubestead.Sandbox.Tests.Engine;

/// <summary>Warm-up, background analysis and decisions that are written before they are acted on (issue #12).</summary>
public class AnalysisAcrossTimeTests
{
    private sealed class Recorder : IRolloutObserver
    {
        public List<RolloutEvent> Events { get; } = new();

        public void OnEvent(RolloutEvent e)
        {
            lock (Events) Events.Add(e);
        }
    }

    private static RolloutStatus? StoredStatus(SandboxEnvironment env) =>
        env.Cluster.Peek(ResourceType.ConfigMap, ShopFixture.Namespace, "kubestead-shop")?["data"]?["status.json"]?.GetValue<string>() is { } json
            ? JsonSerializer.Deserialize<RolloutStatus>(json, RolloutStateStore.Json)
            : null;

    private static double RoutedCanaryShare(SandboxEnvironment env) =>
        Kubestead.Sandbox.Simulation.RouteShareReader.FromVirtualService(env.Cluster.Peek(ShopFixture.VirtualService, ShopFixture.Namespace, ShopFixture.Name)!,
            d => d["subset"]?.GetValue<string>() == "canary");

    private const string PauseSteps = """
          steps:
            - setWeight: 20
            - pause:
                duration: 10m
            - analysis:
                duration: 5m
          analysis:
        """;

    private static string WithSteps(string spec, string steps)
    {
        var start = spec.IndexOf("  steps:\n", StringComparison.Ordinal);
        var end = spec.IndexOf("  analysis:\n", StringComparison.Ordinal);
        return spec[..start] + steps.Replace("\r\n", "\n").TrimEnd() + "\n" + spec[(end + "  analysis:\n".Length)..];
    }

    [Fact]
    public async Task A_background_fail_during_a_pause_step_aborts()
    {
        var env = SandboxEnvironment.Create("istio", "faulty");
        var recorder = new Recorder();
        await using var svc = env.CreateService(recorder);
        var spec = WithSteps(SandboxDemoTests.SpecFor("istio"), PauseSteps);
        var result = await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = spec }, wait: true));

        Assert.Equal(RolloutPhase.Aborted, result.Phase);
        Assert.Equal(1, result.StepIndex); // still in the 10-minute pause
        Assert.Contains("background analysis failed (error-rate)", result.Message);
        Assert.Equal(VerdictOutcome.Fail, result.BackgroundVerdicts.Single().Outcome);
        Assert.True(result.FinishedAt - result.StartedAt < TimeSpan.FromMinutes(5), $"{result.FinishedAt - result.StartedAt}");
        Assert.Contains(recorder.Events, e => e is BackgroundVerdictEvent { Verdict.Outcome: VerdictOutcome.Fail });
        Assert.Equal(0, result.CanaryWeight);
    }

    [Fact]
    public async Task Warm_up_windows_are_not_judged_and_are_reported_as_warm_up()
    {
        var env = SandboxEnvironment.Create("istio", "healthy");
        var recorder = new Recorder();
        await using var svc = env.CreateService(recorder);
        var spec = SandboxDemoTests.SpecFor("istio").Replace("    interval: 10s\n", "    interval: 10s\n    warmup: 1m\n    warmupAfterWeightChange: true\n")
            .Replace("duration: 10m", "duration: 20m"); // a minute less of evidence per step: give the 5% step more time
        var result = await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = spec }, wait: true));
        Assert.True(result.Phase == RolloutPhase.Completed, $"{result.Phase}: {result.Message}");

        List<RolloutEvent> events;
        lock (recorder.Events) events = recorder.Events.ToList();
        var weights = events.OfType<WeightAppliedEvent>().Where(w => w.CanaryPercent is > 0 and < 100).ToList();
        Assert.Equal(3, weights.Count);
        var warmups = events.OfType<WarmupWindowEvent>().ToList();
        foreach (var w in weights)
        {
            // Every weight change starts a minute of warm-up windows, and no verdict is produced inside it.
            var own = warmups.Where(x => x.WarmupUntil == w.At + TimeSpan.FromMinutes(1)).ToList();
            Assert.True(own.Count >= 6, $"{own.Count} warm-up windows after the weight change at {w.At:HH:mm:ss}");
            Assert.All(own, x => Assert.True(x.WindowStart >= w.At && x.WindowEnd <= x.WarmupUntil));
            Assert.DoesNotContain(events, e => e is VerdictEvent or BackgroundVerdictEvent && e.At > w.At && e.At < w.At + TimeSpan.FromMinutes(1));
        }
        Assert.True(result.WarmupWindows >= 18, $"{result.WarmupWindows}");
        Assert.Contains(warmups, x => x.Message.StartsWith("warm-up: window", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Windows_end_at_weight_writes_and_restart_when_the_new_weight_is_in_effect()
    {
        var queried = new List<(DateTimeOffset Start, DateTimeOffset End)>();
        var env = SandboxEnvironment.Create("istio", "healthy");
        var recorder = new Recorder();
        await using var svc = new KubesteadService(env.Cluster, new KubesteadServiceOptions
        {
            Clock = env.Clock,
            Observer = recorder,
            Driver = new DriverIdentity("t", "sandbox", null, "t"),
            PollInterval = TimeSpan.FromSeconds(30),
            Metrics = (spec, metric) =>
            {
                var inner = env.Traffic.Metrics(spec, metric);
                return async (s, e, ct) =>
                {
                    lock (queried) queried.Add((s, e));
                    return await inner(s, e, ct);
                };
            },
        });
        var result = await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = SandboxDemoTests.SpecFor("istio") }, wait: true));
        Assert.Equal(RolloutPhase.Completed, result.Phase);
        var writes = recorder.Events.OfType<WeightAppliedEvent>().Where(w => w.CanaryPercent is > 0 and < 100).Select(w => w.At).ToList();
        Assert.Equal(3, writes.Count);
        foreach (var at in writes.Skip(1))
        {
            // No window straddles the write: one ends at or before it, the next starts at or after it.
            Assert.DoesNotContain(queried, q => q.Start < at && q.End > at);
            Assert.Contains(queried, q => q.Start == at);
        }
    }

    [Fact]
    public async Task A_decision_is_written_before_it_is_acted_on()
    {
        // A clean faulty run: which write records the abort decision?
        var clean = SandboxEnvironment.Create("istio", "faulty");
        int? decisionWrite = null;
        var shareWhenDecided = -1.0;
        clean.Cluster.Changed += (type, obj, _) =>
        {
            if (decisionWrite is not null || type.Plural != "configmaps" || StoredStatus(clean) is not { Phase: RolloutPhase.Failed or RolloutPhase.Aborted } s) return;
            decisionWrite = clean.Cluster.Writes.Count;
            shareWhenDecided = RoutedCanaryShare(clean);
            Assert.Contains(s.BackgroundVerdicts.Concat(s.LastVerdicts), v => v.Outcome == VerdictOutcome.Fail);
        };
        await using (var svc = clean.CreateService(NullRolloutObserver.Instance))
            Assert.Equal(RolloutPhase.Aborted, (await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = SandboxDemoTests.SpecFor("istio") }, wait: true))).Phase);
        Assert.NotNull(decisionWrite);
        Assert.True(shareWhenDecided > 0, "the decision was written while the canary still had its traffic");

        // The same run with that write failing: the driver dies, and nothing was acted on.
        var env = SandboxEnvironment.Create("istio", "faulty");
        env.Cluster.FailWriteNumber(decisionWrite.Value, afterApply: false);
        await using (var first = env.CreateService(NullRolloutObserver.Instance, "first"))
            await Assert.ThrowsAnyAsync<Exception>(() => Task.Run(() => first.StartAsync(new StartRequest { SpecYaml = SandboxDemoTests.SpecFor("istio") }, wait: true)));
        Assert.Equal(RolloutPhase.Progressing, StoredStatus(env)!.Phase);
        Assert.True(RoutedCanaryShare(env) > 0, "traffic moved although the decision was not written");
        Assert.NotNull(env.Cluster.Peek(ResourceType.Deployment, ShopFixture.Namespace, "shop-canary"));

        // The next driver reaches the same decision from the metrics and acts on it.
        await Task.Delay(TimeSpan.FromSeconds(61), env.Clock);
        await using var second = env.CreateService(NullRolloutObserver.Instance, "second");
        var result = await Task.Run(() => second.WaitAsync(ShopFixture.Namespace, "shop", null));
        Assert.Equal(RolloutPhase.Aborted, result.Phase);
        Assert.Equal(0, RoutedCanaryShare(env));
    }

    [Fact]
    public async Task A_driver_that_dies_mid_rollout_is_replaced_and_the_background_mixture_goes_on_from_its_saved_state()
    {
        // Find a state write in the 25% step, when the background e-process has already counted canary traffic.
        var clean = SandboxEnvironment.Create("istio", "healthy");
        int? crashAt = null;
        clean.Cluster.Changed += (type, _, _) =>
        {
            if (crashAt is null && type.Plural == "configmaps" && StoredStatus(clean) is { StepIndex: 4, StepStartedAt: not null, BackgroundStates.Count: 1 })
                crashAt = clean.Cluster.Writes.Count + 1; // the write after it
        };
        await using (var svc = clean.CreateService(NullRolloutObserver.Instance))
            await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = SandboxDemoTests.SpecFor("istio") }, wait: true));
        Assert.NotNull(crashAt);

        var env = SandboxEnvironment.Create("istio", "healthy");
        env.Cluster.FailWriteNumber(crashAt.Value, afterApply: false);
        await using (var first = env.CreateService(NullRolloutObserver.Instance, "first"))
            await Assert.ThrowsAnyAsync<Exception>(() => Task.Run(() => first.StartAsync(new StartRequest { SpecYaml = SandboxDemoTests.SpecFor("istio") }, wait: true)));
        var saved = StoredStatus(env)!;
        var savedCanary = saved.BackgroundStates["error-rate"]["nc"]!.GetValue<long>();
        Assert.True(savedCanary > 0);

        await Task.Delay(TimeSpan.FromSeconds(61), env.Clock); // the dead driver's lease expires
        var recorder = new Recorder();
        await using var second = env.CreateService(recorder, "second");
        var result = await Task.Run(() => second.WaitAsync(ShopFixture.Namespace, "shop", null));
        Assert.Equal(RolloutPhase.Completed, result.Phase);
        List<BackgroundVerdictEvent> background;
        List<VerdictEvent> step;
        lock (recorder.Events)
        {
            background = recorder.Events.OfType<BackgroundVerdictEvent>().ToList();
            step = recorder.Events.OfType<VerdictEvent>().ToList();
        }
        // The new driver's first window: the step judge's growth since the save is that window's canary traffic, and the
        // background e-process adds it to the saved counts (the same e-process), not to zero.
        var savedStep = saved.JudgeStates.TryGetValue("error-rate", out var j) ? j["nc"]!.GetValue<long>() : 0;
        var firstWindow = step[0].Verdict.CanaryRequests - savedStep;
        Assert.True(firstWindow > 0);
        Assert.Equal(savedCanary + firstWindow, background[0].Verdict.CanaryRequests);

        // The background test is the restart mixture, saved with several starts, and the new driver continues that very
        // mixture: a background judge restored from the saved state and fed the new driver's first window (the step
        // judge's growth since the save) has exactly the e-value of the new driver's first background verdict.
        var savedBackground = saved.BackgroundStates["error-rate"];
        Assert.True(savedBackground["restarts"]!.GetValue<bool>());
        Assert.True(savedBackground["fail"]!.AsArray()[2]!.GetValue<double>() > 1, "more than one start before the 25% step");
        var metrics = Kubestead.Specs.RolloutSpecParser.Parse(SandboxDemoTests.SpecFor("istio")).Spec!.Analysis!.Metrics;
        var restored = JudgeFactory.CreateBackground(metrics).Single();
        restored.RestoreState(savedBackground);
        long Saved(string key) => saved.JudgeStates.TryGetValue("error-rate", out var s) ? s[key]!.GetValue<long>() : 0;
        var next = step[0].Verdict;
        restored.Observe(new MetricWindow(saved.AnalysisCursor!.Value, saved.AnalysisCursor.Value + TimeSpan.FromSeconds(10),
            new VersionSample(next.CanaryRequests - Saved("nc"), next.CanaryFailures - Saved("xc")),
            new VersionSample(next.ControlRequests - Saved("ns"), next.ControlFailures - Saved("xs"))));
        Assert.Equal(restored.Evaluate().Statistic!.Value, background[0].Verdict.Statistic!.Value, 9);
        Assert.NotEqual(1.0, Math.Exp(background[0].Verdict.Statistic!.Value), 6);
        env.Traffic.CatchUp();
        var (_, _, canaryServed, _) = env.Traffic.Simulator.Totals();
        Assert.True(result.BackgroundVerdicts.Single().CanaryRequests <= canaryServed, "no window was counted twice");
    }
}
