using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Demo;
using Kubestead.Tests.Shared;

namespace Kubestead.Sandbox.Tests.Gates;

/// <summary>Issue #32 item 2: approval steps, their timeouts, and refusals that write nothing.</summary>
public class ApprovalGateTests
{
    private static string Spec(string approval) => NoneMeshSpec.With(["setWeight: 20", $"approval: {approval}", "setWeight: 40"]);

    private sealed class CancelOn(CancellationTokenSource cts, Func<RolloutEvent, bool> when) : IRolloutObserver
    {
        public void OnEvent(RolloutEvent e)
        {
            if (when(e)) cts.Cancel();
        }
    }

    private static string? ResourceVersion(SandboxEnvironment env) =>
        env.Cluster.Peek(ResourceType.ConfigMap, "shop", "kubestead-shop")?["metadata"]?["resourceVersion"]?.GetValue<string>();

    [Fact]
    public async Task Approve_away_from_a_gate_and_resume_at_a_gate_are_refused_without_a_write()
    {
        var env = SandboxEnvironment.Create("none", "healthy");
        await using var svc = env.CreateService(NullRolloutObserver.Instance);
        var paused = await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = Spec("{}") }, wait: true));
        Assert.Equal(RolloutPhase.Paused, paused.Phase);
        Assert.Equal(1, paused.StepIndex);
        var before = ResourceVersion(env);

        var resume = await Assert.ThrowsAsync<KubesteadException>(() => svc.ResumeAsync("shop", "shop", wait: true));
        Assert.Equal("ApprovalRequired", resume.ErrorId);
        Assert.Equal(before, ResourceVersion(env));

        await svc.ApproveAsync("shop", "shop", "bob", wait: false);
        var twice = await Assert.ThrowsAsync<KubesteadException>(() => svc.ApproveAsync("shop", "shop", "bob", wait: false));
        Assert.Equal("NotAtApprovalGate", twice.ErrorId);
        Assert.Contains("step 2 is already approved", twice.Message);
    }

    [Fact]
    public async Task A_gate_that_times_out_with_onTimeout_abort_is_aborted_by_the_driver_watching_it()
    {
        var env = SandboxEnvironment.Create("none", "healthy");
        await using var svc = env.CreateService(NullRolloutObserver.Instance);
        var started = await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = Spec("{timeout: 10m, onTimeout: abort}") }, wait: true));
        Assert.Equal(RolloutPhase.Paused, started.Phase);
        Assert.Contains("waiting for approval", started.Message);

        // No timeout of the wait's own: the sandbox's auto-advancing clock may fire any armed timer early.
        var result = await Task.Run(() => svc.WaitAsync("shop", "shop", null));

        Assert.Equal(RolloutPhase.Aborted, result.Phase);
        Assert.Equal("step 2: no approval within 10m", result.Message);
        Assert.Equal(0, result.CanaryWeight);
        Assert.InRange(result.FinishedAt!.Value - started.UpdatedAt, TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(11));
    }

    [Fact]
    public async Task A_gate_that_times_out_with_onTimeout_pause_stays_paused_until_approved()
    {
        var env = SandboxEnvironment.Create("none", "healthy");
        using var timedOut = new CancellationTokenSource();
        await using var svc = env.CreateService(new CancelOn(timedOut, e => e is PhaseChangedEvent { Detail: var d } && d.StartsWith("no approval within")));
        await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = Spec("{timeout: 10m}") }, wait: true));

        // The watching driver turns the gate into a plain pause at its timeout, and would go on watching: stop it there.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Task.Run(() => svc.WaitAsync("shop", "shop", null, timedOut.Token)));
        var watched = await svc.GetAsync("shop", "shop");
        Assert.Equal(RolloutPhase.Paused, watched.Phase);
        Assert.Equal("no approval within 10m: paused; approve to go on, or abort", watched.Message);

        var approved = await Task.Run(() => svc.ApproveAsync("shop", "shop", null, wait: true));
        Assert.Equal(RolloutPhase.Completed, approved.Phase);
        Assert.Contains(approved.History, h => h.Kind == "approve" && h.Message == "step 2 approved by demo@sandbox (demo)");
    }
}
