using System.Text.Json;
using Kubestead.Analysis;
using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Demo;
using Kubestead.Sandbox.Tests.Demo;

namespace Kubestead.Sandbox.Tests.Engine;

/// <summary>Warm-up, background analysis and decisions that are written before they are acted on (issue #12).</summary>
public class AnalysisAcrossTimeTests
{
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
        var recorder = new RecordingObserver();
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
        var recorder = new RecordingObserver();
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
        var recorder = new RecordingObserver();
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
        // Issue #26 item 11: each window is recorded with the weight in effect during it, the first one after a write too.
        var applied = recorder.Events.OfType<WeightAppliedEvent>().Where(w => w.CanaryPercent is > 0 and < 100).ToList();
        var windows = StoredStatus(env)!.Timeline!.Windows.Where(w => w.Merged == 1 && w.Start >= applied[0].At).ToList();
        Assert.NotEmpty(windows);
        foreach (var w in windows)
            Assert.Equal(applied.Last(a => a.At <= w.Start).CanaryPercent, w.CanaryWeight);
        Assert.Contains(windows, w => applied.Skip(1).Any(a => a.At == w.Start));
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
        var recorder = new RecordingObserver();
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
        var spec = Kubestead.Specs.RolloutSpecParser.Parse(SandboxDemoTests.SpecFor("istio")).Spec!;
        // The engine spreads the mixture's prior over the spec's planned length (issue #29).
        var restarts = RestartMixtureOptions.ForPlannedLength(RuntimeFactory.PlannedLength(spec));
        var restored = JudgeFactory.CreateBackground(spec.Analysis!.Metrics, restarts).Single();
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
    // ---- Warm-up from readiness (issue #12): the warm-up runs from the later of the weight write and the canary's pods being ready.

    private static readonly TimeSpan Warmup = TimeSpan.FromMinutes(1);

    private static string WithWarmup(string spec, TimeSpan warmup, bool afterWeightChange = false) =>
        spec.Replace("    interval: 10s\n", $"    interval: 10s\n    warmup: {(int)warmup.TotalSeconds}s\n" + (afterWeightChange ? "    warmupAfterWeightChange: true\n" : ""))
            .Replace("duration: 10m", "duration: 20m"); // the warm-ups take evidence time from the untilVerdict steps

    private static List<RolloutEvent> Snapshot(RecordingObserver r)
    {
        lock (r.Events) return r.Events.ToList();
    }

    private static void AssertNoVerdictBetween(List<RolloutEvent> events, DateTimeOffset from, DateTimeOffset to) =>
        Assert.DoesNotContain(events, e => e is VerdictEvent or BackgroundVerdictEvent && e.At > from && e.At < to);

    /// <summary>Calls <paramref name="onWrite"/> once, on the first VirtualService write that gives the canary <paramref name="weight"/>.</summary>
    private static void OnCanaryWeight(SandboxEnvironment env, double weight, Action onWrite)
    {
        var done = false;
        env.Cluster.Changed += (type, obj, _) =>
        {
            if (done || type != ShopFixture.VirtualService || obj is null
                || Math.Abs(100 * Kubestead.Sandbox.Simulation.RouteShareReader.FromVirtualService(obj, d => d["subset"]?.GetValue<string>() == "canary") - weight) > 1e-9) return;
            done = true;
            onWrite();
        };
    }

    [Fact]
    public async Task Canary_pods_ready_two_minutes_after_the_weight_write_start_the_warm_up_then_not_at_the_write()
    {
        var env = SandboxEnvironment.Create("istio", "healthy");
        DateTimeOffset? write = null;
        // The canary's pods are replaced as the first weight reaches the route: they are ready two minutes after the write.
        OnCanaryWeight(env, 5, () =>
        {
            write = env.Clock.GetUtcNow();
            env.Cluster.ReplacePods(ShopFixture.Namespace, "shop-canary", TimeSpan.FromMinutes(2));
        });
        var recorder = new RecordingObserver();
        await using var svc = env.CreateService(recorder);
        var result = await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = WithWarmup(SandboxDemoTests.SpecFor("istio"), Warmup) }, wait: true));
        Assert.True(result.Phase == RolloutPhase.Completed, $"{result.Phase}: {result.Message}");
        Assert.NotNull(write);
        var ready = write!.Value + TimeSpan.FromMinutes(2);

        var events = Snapshot(recorder);
        // The engine sees the pods ready at its next look (windows are 10 s): the warm-up runs a minute from there.
        Assert.NotNull(result.WarmupFrom);
        Assert.InRange(result.WarmupFrom!.Value, ready, ready + TimeSpan.FromSeconds(10));
        Assert.Equal(result.WarmupFrom + Warmup, result.WarmupUntil);
        var warmups = events.OfType<WarmupWindowEvent>().ToList();
        Assert.Equal(result.WarmupUntil, warmups.Max(w => w.WindowEnd));
        Assert.Equal(write, warmups.Min(w => w.WindowStart));
        // Counting from the write, the warm-up would have ended at write + 1 minute: nothing is judged until readiness + 1 minute.
        AssertNoVerdictBetween(events, write.Value, ready + Warmup);
        Assert.Contains(events, e => e is VerdictEvent && e.At >= result.WarmupUntil);
        Assert.Contains(result.History, h => h.Kind == "warmup" && h.Message.StartsWith("canary pods ready", StringComparison.Ordinal));
        Assert.False(result.WarmupAwaitingReady);
    }

    [Fact]
    public async Task Without_a_mesh_each_weight_change_warms_up_from_when_the_canary_pods_are_ready_not_from_the_scale_write()
    {
        // No mesh: the weight is the pods. They take two minutes to be ready after each scale-up (the canary is scaled up
        // at every weight step), and warmupAfterWeightChange warms up after each change.
        var env = SandboxEnvironment.Create("none", "healthy", podReadyDelay: TimeSpan.FromMinutes(2));
        var scaleUps = new List<DateTimeOffset>();
        env.Cluster.Changed += (type, obj, verb) =>
        {
            if (type == ResourceType.Deployment && verb == "PATCH" && obj?["metadata"]?["name"]?.GetValue<string>() == "shop-canary"
                && obj["status"]?["updatedReplicas"]?.GetValue<int>() == 0 && obj["spec"]?["replicas"]?.GetValue<int>() > 0)
                lock (scaleUps) scaleUps.Add(env.Clock.GetUtcNow());
        };
        var recorder = new RecordingObserver();
        await using var svc = env.CreateService(recorder);
        var spec = WithWarmup(SandboxDemoTests.SpecFor("none"), Warmup, afterWeightChange: true).Replace("readyTimeout: 2m", "readyTimeout: 5m");
        var result = await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = spec }, wait: true));
        Assert.True(result.Phase == RolloutPhase.Completed, $"{result.Phase}: {result.Message}");

        var events = Snapshot(recorder);
        var warmupEnds = events.OfType<WarmupWindowEvent>().Select(w => w.WarmupUntil).Distinct().Order().ToList();
        Assert.Equal(3, scaleUps.Count); // 10%, 25%, 50%
        Assert.Equal(3, warmupEnds.Count);
        for (var i = 0; i < scaleUps.Count; i++)
        {
            // Ready two minutes after the scale write (seen within the router's 2-second poll): the warm-up ends a minute after that.
            var ready = scaleUps[i] + TimeSpan.FromMinutes(2);
            Assert.InRange(warmupEnds[i], ready + Warmup, ready + Warmup + TimeSpan.FromSeconds(2));
            AssertNoVerdictBetween(events, scaleUps[i], ready + Warmup);
        }
    }

    [Fact]
    public async Task Canary_pods_replaced_mid_rollout_restart_the_warm_up_from_their_return_and_the_windows_while_missing_are_judged()
    {
        var env = SandboxEnvironment.Create("istio", "healthy");
        DateTimeOffset? write25 = null;
        // Thirty seconds into the 25% step the canary's pods are replaced; the new ones are ready a minute later.
        OnCanaryWeight(env, 25, () =>
        {
            write25 = env.Clock.GetUtcNow();
            env.Cluster.SchedulePodReplacement(ShopFixture.Namespace, "shop-canary", TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(1));
        });
        var recorder = new RecordingObserver();
        await using var svc = env.CreateService(recorder);
        var result = await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = WithWarmup(SandboxDemoTests.SpecFor("istio"), Warmup) }, wait: true));
        Assert.True(result.Phase == RolloutPhase.Completed, $"{result.Phase}: {result.Message}");
        Assert.NotNull(write25);

        var events = Snapshot(recorder);
        var dropped = write25!.Value + TimeSpan.FromSeconds(30);
        var back = dropped + TimeSpan.FromMinutes(1);
        Assert.Equal(1, result.WarmupRestarts);
        Assert.Contains(events, e => e is WarningEvent w && w.At >= dropped && w.Message.Contains("0 of 1 canary pods ready", StringComparison.Ordinal));
        var restart = Assert.Single(result.History, h => h.Kind == "warmup" && h.Message.Contains("ready again", StringComparison.Ordinal));
        Assert.InRange(restart.At, back, back + TimeSpan.FromSeconds(10));
        // While the pods were missing the windows were judged (a crashing canary must not hide); after their return, a minute is not.
        Assert.Contains(events, e => e is VerdictEvent && e.At > dropped + TimeSpan.FromSeconds(10) && e.At <= back);
        AssertNoVerdictBetween(events, restart.At, restart.At + Warmup);
        Assert.Contains(events, e => e is WarmupWindowEvent w && w.WarmupUntil == restart.At + Warmup);
    }

    // ---- Crash replays: a clean run finds a state write, the same run with that write failing kills the first driver
    // there, and after its Lease expired a second driver takes the rollout to its end.

    /// <summary>The number of the first state write after which <paramref name="holds"/> is true (plus <paramref name="offset"/>), in a clean run.</summary>
    private static async Task<int> StateWriteAsync(string spec, Action<SandboxEnvironment>? prepare, Func<SandboxEnvironment, RolloutStatus, bool> holds, int offset = 0)
    {
        var clean = SandboxEnvironment.Create("istio", "healthy");
        prepare?.Invoke(clean);
        int? write = null;
        clean.Cluster.Changed += (type, _, _) =>
        {
            if (write is null && type.Plural == "configmaps" && StoredStatus(clean) is { } s && holds(clean, s))
                write = clean.Cluster.Writes.Count + offset;
        };
        await using (var svc = clean.CreateService(NullRolloutObserver.Instance))
            await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = spec }, wait: true));
        Assert.NotNull(write);
        return write.Value;
    }

    /// <summary>The same run with write number <paramref name="write"/> failing before it applies: the first driver dies there.</summary>
    private static async Task<SandboxEnvironment> FirstDriverDiesAtAsync(string spec, Action<SandboxEnvironment>? prepare, int write)
    {
        var env = SandboxEnvironment.Create("istio", "healthy");
        prepare?.Invoke(env);
        env.Cluster.FailWriteNumber(write, afterApply: false);
        await using (var first = env.CreateService(NullRolloutObserver.Instance, "first"))
            await Assert.ThrowsAnyAsync<Exception>(() => Task.Run(() => first.StartAsync(new StartRequest { SpecYaml = spec }, wait: true)));
        return env;
    }

    /// <summary>Once the dead driver's Lease has expired, a second driver takes over and waits for the end; it must promote.</summary>
    private static async Task<(RolloutResult Result, List<RolloutEvent> Events, DateTimeOffset Resumed)> SecondDriverPromotesAsync(SandboxEnvironment env)
    {
        await Task.Delay(TimeSpan.FromSeconds(61), env.Clock);
        var resumed = env.Clock.GetUtcNow();
        var recorder = new RecordingObserver();
        await using var second = env.CreateService(recorder, "second");
        var result = await Task.Run(() => second.WaitAsync(ShopFixture.Namespace, "shop", null));
        Assert.True(result.Phase == RolloutPhase.Completed, $"{result.Phase}: {result.Message}");
        return (result, Snapshot(recorder), resumed);
    }

    [Fact]
    public async Task A_driver_that_dies_while_the_warm_up_waits_for_the_canary_pods_is_replaced_and_the_warm_up_runs_from_what_the_next_driver_sees()
    {
        var spec = WithWarmup(SandboxDemoTests.SpecFor("istio"), Warmup);
        void SlowPodsAt5(SandboxEnvironment e) => OnCanaryWeight(e, 5, () => e.Cluster.ReplacePods(ShopFixture.Namespace, "shop-canary", TimeSpan.FromMinutes(2)));
        // The write that records the warm-up's start (the pods were seen ready) fails: the driver dies having seen the pods
        // ready but before recording it.
        var startWrite = await StateWriteAsync(spec, SlowPodsAt5, (_, s) => s is { WarmupFrom: not null, WarmupAwaitingReady: false });
        var env = await FirstDriverDiesAtAsync(spec, SlowPodsAt5, startWrite);
        var saved = StoredStatus(env)!;
        Assert.True(saved.WarmupAwaitingReady, "the stored state still waits for the pods");
        Assert.Null(saved.WarmupFrom);

        var (result, events, resumed) = await SecondDriverPromotesAsync(env);
        // The next driver finds the pods ready and starts the warm-up then (later than the dead driver saw them: never earlier).
        Assert.NotNull(result.WarmupFrom);
        Assert.InRange(result.WarmupFrom!.Value, resumed, resumed + TimeSpan.FromSeconds(10));
        Assert.Equal(result.WarmupFrom + Warmup, result.WarmupUntil);
        AssertNoVerdictBetween(events, resumed - TimeSpan.FromSeconds(61), result.WarmupUntil!.Value);
        Assert.All(events.OfType<WarmupWindowEvent>(), w => Assert.True(w.WindowEnd <= result.WarmupUntil));
    }

    [Fact]
    public async Task A_driver_that_dies_in_the_middle_of_a_warm_up_is_replaced_and_the_next_one_continues_it_to_its_recorded_end()
    {
        var warmup = TimeSpan.FromMinutes(4);
        var spec = WithWarmup(SandboxDemoTests.SpecFor("istio"), warmup);
        // The write after a progress write inside the warm-up (after it was recorded, before its end).
        var midWrite = await StateWriteAsync(spec, null, (e, s) => s is { WarmupFrom: { } from, WarmupWindows: > 6 }
            && e.Clock.GetUtcNow() < s.WarmupUntil && e.Clock.GetUtcNow() > from + TimeSpan.FromMinutes(1), offset: 1);
        var env = await FirstDriverDiesAtAsync(spec, null, midWrite);
        var saved = StoredStatus(env)!;
        Assert.NotNull(saved.WarmupFrom);
        Assert.True(env.Clock.GetUtcNow() < saved.WarmupUntil, "the driver died inside the warm-up");

        var (result, events, _) = await SecondDriverPromotesAsync(env);
        // The warm-up keeps the start and end the dead driver recorded: not restarted, not dropped.
        Assert.Equal(saved.WarmupFrom, result.WarmupFrom);
        Assert.Equal(saved.WarmupUntil, result.WarmupUntil);
        var own = events.OfType<WarmupWindowEvent>().ToList();
        Assert.NotEmpty(own);
        Assert.All(own, w => Assert.Equal(saved.WarmupUntil, w.WarmupUntil));
        Assert.Equal(saved.WarmupUntil, own.Max(w => w.WindowEnd));
        AssertNoVerdictBetween(events, saved.WarmupFrom!.Value, saved.WarmupUntil!.Value);
    }

    [Fact]
    public async Task A_weight_write_whose_driver_died_before_recording_it_still_warms_up_when_the_next_driver_adopts_it()
    {
        var spec = WithWarmup(SandboxDemoTests.SpecFor("istio"), Warmup, afterWeightChange: true);
        // In a clean run, find the state write that records the 25% weight (the one right after the route write).
        var clean = SandboxEnvironment.Create("istio", "healthy");
        int? recordWrite = null;
        OnCanaryWeight(clean, 25, () => recordWrite = clean.Cluster.Writes.Count + 1);
        await using (var svc = clean.CreateService(NullRolloutObserver.Instance))
            await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = spec }, wait: true));
        Assert.NotNull(recordWrite);

        // The driver dies after the route shows 25% but before the state says so: the next driver finds the route ahead of
        // the recorded weight, sees it is the current step's own write, and adopts it.
        var env = await FirstDriverDiesAtAsync(spec, null, recordWrite.Value);
        Assert.Equal(5, StoredStatus(env)!.CanaryWeight);
        Assert.Equal(0.25, RoutedCanaryShare(env), 9);

        var (_, events, adopted) = await SecondDriverPromotesAsync(env);
        // The adopted write begins the warm-up the dead driver's write would have begun (from when the next driver records it).
        var first25 = events.OfType<WarmupWindowEvent>().Select(w => w.WarmupUntil).Order().FirstOrDefault();
        Assert.InRange(first25, adopted + Warmup, adopted + Warmup + TimeSpan.FromSeconds(10));
        AssertNoVerdictBetween(events, adopted, first25);
    }

    [Fact]
    public async Task A_driver_that_dies_recording_the_return_of_replaced_pods_is_replaced_and_the_next_one_restarts_the_warm_up()
    {
        var spec = WithWarmup(SandboxDemoTests.SpecFor("istio"), Warmup);
        void ReplaceAt25(SandboxEnvironment e) => OnCanaryWeight(e, 25,
            () => e.Cluster.SchedulePodReplacement(ShopFixture.Namespace, "shop-canary", TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(1)));
        // The write that records the restart (the replaced pods were seen back) fails.
        var restartWrite = await StateWriteAsync(spec, ReplaceAt25, (_, s) => s is { WarmupRestarts: 1 });
        var env = await FirstDriverDiesAtAsync(spec, ReplaceAt25, restartWrite);
        var saved = StoredStatus(env)!;
        Assert.NotNull(saved.CanaryUnreadySince); // the drop was recorded, the return was not
        Assert.Equal(0, saved.WarmupRestarts);

        var (result, events, resumed) = await SecondDriverPromotesAsync(env);
        Assert.Equal(1, result.WarmupRestarts);
        var restart = Assert.Single(result.History, h => h.Kind == "warmup" && h.Message.Contains("ready again", StringComparison.Ordinal));
        Assert.StartsWith("second@", restart.Driver, StringComparison.Ordinal);
        Assert.InRange(restart.At, resumed, resumed + TimeSpan.FromSeconds(10));
        AssertNoVerdictBetween(events, restart.At, restart.At + Warmup);
        // The windows while the pods were missing, the driver's absence included, were judged: only the restart is warm-up.
        Assert.DoesNotContain(result.Timeline!.Warmups, w => w.Start < restart.At && w.End > saved.CanaryUnreadySince!.Value);
        Assert.Contains(result.Timeline.Warmups, w => w.Start == restart.At && w.End == restart.At + Warmup);
    }

    [Fact]
    public async Task A_driver_that_dies_recording_a_drop_of_canary_pods_is_replaced_and_the_next_one_sees_the_drop_itself()
    {
        var spec = WithWarmup(SandboxDemoTests.SpecFor("istio"), Warmup).Replace("duration: 5m", "duration: 8m");
        // Thirty seconds into the 25% step the canary's pods are replaced; the new ones take three minutes.
        void ReplaceAt25(SandboxEnvironment e) => OnCanaryWeight(e, 25,
            () => e.Cluster.SchedulePodReplacement(ShopFixture.Namespace, "shop-canary", TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(3)));
        var dropWrite = await StateWriteAsync(spec, ReplaceAt25, (_, s) => s is { CanaryUnreadySince: not null });
        var env = await FirstDriverDiesAtAsync(spec, ReplaceAt25, dropWrite);
        Assert.Null(StoredStatus(env)!.CanaryUnreadySince);

        var (result, events, resumed) = await SecondDriverPromotesAsync(env);
        // The pods were still missing when the next driver came: it records the drop and restarts the warm-up on their return.
        var drop = Assert.Single(result.History, h => h.Kind == "warmup" && h.Message.Contains("the warm-up restarts when the pods are back", StringComparison.Ordinal));
        Assert.StartsWith("second@", drop.Driver, StringComparison.Ordinal);
        Assert.InRange(drop.At, resumed, resumed + TimeSpan.FromSeconds(10));
        Assert.Equal(1, result.WarmupRestarts);
        var restart = Assert.Single(result.History, h => h.Kind == "warmup" && h.Message.Contains("ready again", StringComparison.Ordinal));
        AssertNoVerdictBetween(events, restart.At, restart.At + Warmup);
    }
}
