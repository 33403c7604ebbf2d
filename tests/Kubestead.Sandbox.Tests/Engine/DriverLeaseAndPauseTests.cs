using System.Globalization;
using System.Text.RegularExpressions;
using Kubestead.Analysis;
using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Demo;
using Kubestead.Sandbox.Tests.Demo;

namespace Kubestead.Sandbox.Tests.Engine;

/// <summary>Issue #26 items 3 and 4: a driver keeps its Lease through every wait, and keeps judging a paused canary.</summary>
public class DriverLeaseAndPauseTests
{
    /// <summary>At every event of a drive, how long ago the Lease was last renewed (while someone holds it).</summary>
    private sealed class LeaseAgeObserver(SandboxEnvironment env) : IRolloutObserver
    {
        public TimeSpan Oldest { get; private set; }
        public string? OldestAt { get; private set; }
        public List<RolloutEvent> Events { get; } = new();

        public void OnEvent(RolloutEvent e)
        {
            lock (Events) Events.Add(e);
            var spec = env.Cluster.Peek(ResourceType.Lease, ShopFixture.Namespace, RolloutLease.ObjectName("shop"))?["spec"];
            if (spec?["holderIdentity"]?.GetValue<string>() is not { Length: > 0 } || spec["renewTime"]?.GetValue<string>() is not { } renew) return;
            var age = env.Clock.GetUtcNow() - DateTimeOffset.Parse(renew, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
            if (age > Oldest) (Oldest, OldestAt) = (age, e.Message);
        }
    }

    /// <summary>
    /// Resumes the rollout from inside the waiter's drive, at its first look at the paused canary (or the first after the
    /// canary's first passing verdict): the waiter's thread is held until the resume is written, so the resume lands at
    /// exactly that point of its loop however fast or slow the machine is (the sandbox clock does not move while its only
    /// driver is held).
    /// </summary>
    private sealed class ResumeAtPausedLook(bool afterPass, Func<Task> resume) : IRolloutObserver
    {
        private bool _passed;
        private bool _resumed;

        public void OnEvent(RolloutEvent e)
        {
            if (e is VerdictEvent { Verdict.Outcome: VerdictOutcome.Pass }) _passed = true;
            if (e is WaitingEvent { Activity: var activity } && activity.StartsWith("paused (Manual): judging", StringComparison.Ordinal)
                && (_passed || !afterPass) && !_resumed)
            {
                _resumed = true;
                resume().GetAwaiter().GetResult();
            }
        }
    }

    private static string WithSteps(string spec, string steps) =>
        Regex.Replace(spec, @"  steps:\n(    .*\n|      .*\n)*", "  steps:\n" + steps);

    [Fact]
    public async Task The_lease_stays_renewed_through_a_long_scale_down_delay()
    {
        var env = SandboxEnvironment.Create("istio", "healthy");
        var observer = new LeaseAgeObserver(env);
        await using var svc = env.CreateService(observer);
        var spec = SandboxDemoTests.SpecFor("istio").Replace("  policies:\n", "  scaleDownDelay: 10m\n  policies:\n", StringComparison.Ordinal);
        Assert.Contains("scaleDownDelay: 10m", spec);

        var result = await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = spec }, wait: true));

        Assert.Equal(RolloutPhase.Completed, result.Phase);
        Assert.Contains(observer.Events, e => e is WaitingEvent w && w.Message.Contains("scaleDownDelay", StringComparison.Ordinal));
        // Renewed every third of its 60 s: never old enough for another driver to take it.
        Assert.True(observer.Oldest <= TimeSpan.FromSeconds(30), $"the lease went {observer.Oldest} without renewal (seen at: {observer.OldestAt})");
    }

    /// <summary>
    /// Issue #26 item 3: a faulty canary (5% failures against stable's 0.1%) waiting at an approval gate is judged by a
    /// running wait and aborted, without anyone resuming it.
    /// </summary>
    [Fact]
    public async Task Wait_judges_a_canary_paused_at_an_approval_gate_and_aborts_it_when_it_fails()
    {
        var env = SandboxEnvironment.Create("istio", "faulty");
        await using var starter = env.CreateService(NullRolloutObserver.Instance, "ci-start");
        var spec = WithSteps(SandboxDemoTests.SpecFor("istio"), "    - setWeight: 20\n    - pause: {}\n    - setWeight: 50\n");
        Assert.Contains("    - pause: {}\n    - setWeight: 50\n  analysis:", spec);

        var started = await Task.Run(() => starter.StartAsync(new StartRequest { SpecYaml = spec }, wait: true));
        Assert.Equal(RolloutPhase.Paused, started.Phase);
        Assert.Equal(PauseReason.Manual, started.PauseReason);
        Assert.Equal(20, started.CanaryWeight);

        await using var waiter = env.CreateService(NullRolloutObserver.Instance, "ci-wait");
        // No --timeout: on the sandbox's auto-advancing clock a timeout would be the first timer armed and end the wait at once.
        var result = await Task.Run(() => waiter.WaitAsync(ShopFixture.Namespace, "shop", null)).WaitAsync(TimeSpan.FromMinutes(5));

        Assert.Equal(RolloutPhase.Aborted, result.Phase);
        Assert.Contains("while paused", result.Message);
        Assert.Equal(0, result.CanaryWeight);
        Assert.DoesNotContain(result.History, h => h.Kind == "resume");
        Assert.Null(env.Cluster.Peek(ResourceType.Deployment, ShopFixture.Namespace, "shop-canary"));
    }

    [Fact]
    public async Task Wait_on_a_healthy_paused_canary_keeps_it_paused_until_resumed_then_drives_it_to_the_end()
    {
        var env = SandboxEnvironment.Create("istio", "healthy");
        await using var starter = env.CreateService(NullRolloutObserver.Instance, "ci-start");
        var spec = WithSteps(SandboxDemoTests.SpecFor("istio"), "    - setWeight: 20\n    - pause: {}\n    - setWeight: 50\n");
        Assert.Equal(RolloutPhase.Paused, (await Task.Run(() => starter.StartAsync(new StartRequest { SpecYaml = spec }, wait: true))).Phase);

        await using var waiter = env.CreateService(NullRolloutObserver.Instance, "ci-wait");
        var waiting = Task.Run(() => waiter.WaitAsync(ShopFixture.Namespace, "shop", null));
        // The waiter holds the rollout at its gate (judging it) until a person resumes it.
        var lease = RolloutLease.ObjectName("shop");
        while (env.Cluster.Peek(ResourceType.Lease, ShopFixture.Namespace, lease)?["spec"]?["holderIdentity"]?.GetValue<string>()?.StartsWith("ci-wait@", StringComparison.Ordinal) != true)
            await Task.Delay(20);
        // Resumed once the paused canary has passed: the promotion after the last step needs that evidence, and how many
        // windows a fixed wall-clock sleep lets the waiter judge depends on the machine (see the test below).
        var store = new RolloutStateStore(env.Cluster);
        var until = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while ((await store.LoadAsync(ShopFixture.Namespace, "shop")).Status.LastVerdicts is not [{ Outcome: VerdictOutcome.Pass }, ..])
        {
            Assert.True(DateTime.UtcNow < until && !waiting.IsCompleted, "the paused canary was not judged to a pass within 2 minutes");
            await Task.Delay(20);
        }
        Assert.False(waiting.IsCompleted);
        Assert.Equal(RolloutPhase.Paused, (await starter.GetAsync(ShopFixture.Namespace, "shop")).Phase);

        Assert.Equal(RolloutPhase.Progressing, (await starter.ResumeAsync(ShopFixture.Namespace, "shop", wait: false)).Phase);
        var result = await waiting.WaitAsync(TimeSpan.FromMinutes(5));
        Assert.True(result.Phase == RolloutPhase.Completed, $"{result.Phase} ({result.PauseReason}): {result.Message}");
        Assert.Contains(result.History, h => h.Kind == "setWeight" && h.Driver.StartsWith("ci-wait@", StringComparison.Ordinal));
    }

    /// <summary>
    /// The interleavings of that flake, forced. Its resume is not lost: however early it lands, the waiter goes on to
    /// 50 %. What it ended on (Paused, in a loaded run) is the final analysis: with the resume at the waiter's first look
    /// the canary was judged for no window at 20 %, one window after the last step is too few to pass, and the rollout
    /// pauses for insufficient data as its spec says (onInsufficientData: pause). How many windows the paused canary got
    /// was left to the machine's speed (the sandbox clock runs while the test thread sleeps 500 ms of wall time); resumed
    /// after a passing verdict, it always completes.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_resume_landing_while_the_waiter_judges_the_paused_canary_is_not_lost(bool afterPass)
    {
        var env = SandboxEnvironment.Create("istio", "healthy");
        await using var starter = env.CreateService(NullRolloutObserver.Instance, "ci-start");
        var spec = WithSteps(SandboxDemoTests.SpecFor("istio"), "    - setWeight: 20\n    - pause: {}\n    - setWeight: 50\n");
        Assert.Equal(RolloutPhase.Paused, (await Task.Run(() => starter.StartAsync(new StartRequest { SpecYaml = spec }, wait: true))).Phase);

        await using var waiter = env.CreateService(new ResumeAtPausedLook(afterPass, () => starter.ResumeAsync(ShopFixture.Namespace, "shop", wait: false)), "ci-wait");
        var result = await Task.Run(() => waiter.WaitAsync(ShopFixture.Namespace, "shop", null)).WaitAsync(TimeSpan.FromMinutes(5));

        Assert.Single(result.History, h => h.Kind == "resume");
        Assert.Contains(result.History, h => h.Kind == "setWeight" && h.CanaryWeight == 50 && h.Driver.StartsWith("ci-wait@", StringComparison.Ordinal));
        if (afterPass)
        {
            Assert.True(result.Phase == RolloutPhase.Completed, $"{result.Phase} ({result.PauseReason}): {result.Message}");
        }
        else
        {
            Assert.Equal((RolloutPhase.Paused, PauseReason.InsufficientData), (result.Phase, result.PauseReason));
            Assert.StartsWith("every step done but the analysis has no passing verdict", result.Message, StringComparison.Ordinal);
        }
    }
}
