using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Sandbox.Demo;
using Kubestead.Sandbox.Tests.Demo;

namespace Kubestead.Sandbox.Tests.Engine;

/// <summary>Issue #26 item 9: an object the rollout depends on is deleted while it runs.</summary>
public class LostObjectsTests
{
    /// <summary>The shop rollout with <paramref name="mesh"/>, recorded and set to <paramref name="weight"/> by hand (nobody drives it).</summary>
    internal static async Task<(SandboxEnvironment Env, KubesteadService Service)> RunningAtAsync(string mesh, double weight)
    {
        var env = SandboxEnvironment.Create(mesh, "healthy");
        var svc = env.CreateService(NullRolloutObserver.Instance, "driver");
        await Task.Run(() => svc.StartAsync(new StartRequest { SpecYaml = SandboxDemoTests.SpecFor(mesh) }, wait: false));
        var weighted = await Task.Run(() => svc.SetWeightAsync(ShopFixture.Namespace, "shop", weight));
        Assert.Equal(weight, weighted.CanaryWeight);
        return (env, svc);
    }

    private static Task<(SandboxEnvironment Env, KubesteadService Service)> RunningAtTwentyAsync() => RunningAtAsync("istio", 20);

    /// <summary>
    /// Issue #26 item 9: stable deleted mid-rollout, the next drive pauses (StableMissing) with the canary's share as it was
    /// (<paramref name="unchanged"/> says what must not move), resume is refused while it is gone and writes nothing, and
    /// after kubectl apply of its manifest again resume continues to the end.
    /// </summary>
    private static async Task StableDeletedPausesThenResumesAsync(string mesh, double weight, Func<SandboxEnvironment, string> unchanged)
    {
        var (env, svc) = await RunningAtAsync(mesh, weight);
        await using var _ = svc;
        var stable = env.Cluster.Peek(ResourceType.Deployment, ShopFixture.Namespace, "shop")!;
        var before = unchanged(env);
        await env.Cluster.DeleteAsync(ResourceType.Deployment, ShopFixture.Namespace, "shop");

        var paused = await Task.Run(() => svc.WaitAsync(ShopFixture.Namespace, "shop", null));
        Assert.True(paused.Phase == RolloutPhase.Paused, $"{paused.Phase}: {paused.Message}");
        Assert.Equal(PauseReason.StableMissing, paused.PauseReason);
        Assert.Contains("Deployment shop", paused.Message);
        Assert.Equal(weight, paused.CanaryWeight);
        // Fail-safe: the canary keeps its share and no more; nothing was written to the route (or the replicas).
        Assert.Equal(before, unchanged(env));
        var status = await svc.GetAsync(ShopFixture.Namespace, "shop");
        Assert.Equal(PauseReason.StableMissing, status.PauseReason);
        Assert.Contains("Restore Deployment shop", status.Message);

        var writes = env.Cluster.Writes.Count;
        var refused = await Assert.ThrowsAnyAsync<KubesteadException>(() => Task.Run(() => svc.ResumeAsync(ShopFixture.Namespace, "shop", wait: true)));
        Assert.Contains("spec.stable.deployment", refused.Message);
        Assert.Equal(writes, env.Cluster.Writes.Count);

        await env.Cluster.CreateAsync(ResourceType.Deployment, ShopFixture.Namespace, Reapplied(stable));
        var done = await Task.Run(() => svc.ResumeAsync(ShopFixture.Namespace, "shop", wait: true));
        Assert.True(done.Phase == RolloutPhase.Completed, $"{done.Phase} {done.PauseReason}: {done.Message}");
    }

    [Fact]
    public Task A_deleted_stable_Deployment_pauses_with_its_reason_keeps_the_canarys_share_and_resume_after_restoring_it_continues() =>
        StableDeletedPausesThenResumesAsync("istio", 20,
            env => env.Cluster.Peek(ShopFixture.VirtualService, ShopFixture.Namespace, "shop")!["spec"]!.ToJsonString());

    /// <summary>
    /// Without a mesh the canary's share is its pods behind the Service, and the replica-ratio router reads stable itself:
    /// a deleted stable pauses the same way, with the canary's replicas unchanged (nothing scaled either way).
    /// </summary>
    [Fact]
    public Task Without_a_mesh_a_deleted_stable_Deployment_pauses_with_its_reason_keeps_the_canarys_replicas_and_resume_waits_for_it() =>
        StableDeletedPausesThenResumesAsync("none", 25,
            env => env.Cluster.Peek(ResourceType.Deployment, ShopFixture.Namespace, "shop-canary")!["spec"]!["replicas"]!.ToJsonString());

    /// <summary>What <c>kubectl apply</c> of a deleted object's manifest creates: the object without its server-set fields.</summary>
    internal static JsonObject Reapplied(JsonObject deleted)
    {
        var restored = deleted.DeepClone().AsObject();
        var metadata = restored["metadata"]!.AsObject();
        foreach (var key in new[] { "resourceVersion", "uid", "creationTimestamp", "generation" }) metadata.Remove(key);
        restored.Remove("status");
        return restored;
    }

    [Fact]
    public async Task A_driver_whose_state_is_deleted_stops_writing_and_names_what_is_left_and_abort_removes_it_by_the_leases_spec_copy()
    {
        var env = SandboxEnvironment.Create("istio", "healthy");
        await using var driver = env.CreateService(NullRolloutObserver.Instance, "driver");
        // Someone deletes the state a minute into the rollout (the first analysis step, at 5%, runs for minutes).
        env.Cluster.ScheduleExternalDelete(ResourceType.ConfigMap, ShopFixture.Namespace, "kubestead-shop", TimeSpan.FromMinutes(1));
        var lost = await Assert.ThrowsAsync<RolloutStateLostException>(() => Task.Run(() => driver.StartAsync(new StartRequest { SpecYaml = SandboxDemoTests.SpecFor("istio") }, wait: true)));
        Assert.Contains("kubestead-shop", lost.Message);
        Assert.Contains(lost.Left, l => l.StartsWith("traffic: stable 95% / canary 5%", StringComparison.Ordinal));
        Assert.Contains(lost.Left, l => l.Contains("Deployment shop-canary", StringComparison.Ordinal));
        Assert.Contains("kubestead abort shop -n shop", lost.Message);
        // It stopped writing: no record re-created, nothing undone, the canary still serves its 5%.
        Assert.Null(env.Cluster.Peek(ResourceType.ConfigMap, ShopFixture.Namespace, "kubestead-shop"));
        Assert.NotNull(env.Cluster.Peek(ResourceType.Deployment, ShopFixture.Namespace, "shop-canary"));
        Assert.Equal(0.05, CanaryShare(env), 2);

        // A dry run of the abort says it re-creates the record, and writes nothing.
        await using var ops = env.CreateService(NullRolloutObserver.Instance, "ops");
        var writes = env.Cluster.Writes.Count;
        var plan = await Task.Run(() => ops.PlanAsync(new AbortOperation(ShopFixture.Namespace, "shop")));
        Assert.Contains(plan, c => c.Verb == "create" && c.Target.Contains("kubestead-shop", StringComparison.Ordinal));
        Assert.Equal(writes, env.Cluster.Writes.Count);

        var aborted = await Task.Run(() => ops.AbortAsync(ShopFixture.Namespace, "shop", waitForCleanup: true));
        Assert.Equal(RolloutPhase.Aborted, aborted.Phase);
        Assert.False(aborted.CleanupPending);
        Assert.Equal(0, CanaryShare(env));
        Assert.Null(env.Cluster.Peek(ResourceType.Deployment, ShopFixture.Namespace, "shop-canary"));
        var vs = env.Cluster.Peek(ShopFixture.VirtualService, ShopFixture.Namespace, "shop")!;
        Assert.Null(vs["metadata"]!["annotations"]?["kubestead.io/rollout"]);
        Assert.DoesNotContain(vs["spec"]!["http"]!.AsArray(), r => r!["name"]?.GetValue<string>()?.StartsWith("kubestead-", StringComparison.Ordinal) == true);
        Assert.Null(env.Cluster.Peek(ResourceType.Lease, ShopFixture.Namespace, "kubestead-shop"));
        Assert.Contains("re-created", (await ops.GetAsync(ShopFixture.Namespace, "shop")).History.First(h => h.Kind == "abort").Message);
    }

    /// <summary>A rollout at 20% whose state ConfigMap someone deleted (its Lease, with the spec copy, stays).</summary>
    private static async Task<SandboxEnvironment> StateDeletedAsync()
    {
        var (env, svc) = await RunningAtTwentyAsync();
        await svc.DisposeAsync();
        await env.Cluster.DeleteAsync(ResourceType.ConfigMap, ShopFixture.Namespace, "kubestead-shop");
        return env;
    }

    [Fact]
    public async Task An_abort_from_the_lease_copy_interrupted_at_any_write_is_finished_by_the_next_abort()
    {
        var clean = await StateDeletedAsync();
        var before = clean.Cluster.Writes.Count;
        await using (var ops = clean.CreateService(NullRolloutObserver.Instance, "ops"))
            Assert.False((await Task.Run(() => ops.AbortAsync(ShopFixture.Namespace, "shop", waitForCleanup: true))).CleanupPending);
        var abortWrites = clean.Cluster.Writes.Count - before;
        Assert.True(abortWrites >= 4, $"the abort made only {abortWrites} writes: {string.Join("; ", clean.Cluster.Writes.Skip(before))}");

        await AbortInterruptions.EachWriteAsync(StateDeletedAsync, abortWrites, waitForCleanup: true, (env, n, result) =>
        {
            Assert.True(result.Phase == RolloutPhase.Aborted && !result.CleanupPending, $"interrupted at write {n} of {abortWrites}: {result.Phase}, pending {result.CleanupPending}");
            Assert.Equal(0, CanaryShare(env));
            Assert.Null(env.Cluster.Peek(ResourceType.Deployment, ShopFixture.Namespace, "shop-canary"));
        });
    }

    [Fact]
    public async Task Abort_without_a_state_or_a_lease_copy_says_no_rollout_and_writes_nothing()
    {
        var (env, svc) = await RunningAtTwentyAsync();
        await using var _ = svc;
        await env.Cluster.DeleteAsync(ResourceType.ConfigMap, ShopFixture.Namespace, "kubestead-shop");
        await env.Cluster.DeleteAsync(ResourceType.Lease, ShopFixture.Namespace, "kubestead-shop");
        var writes = env.Cluster.Writes.Count;
        await Assert.ThrowsAsync<RolloutNotFoundException>(() => Task.Run(() => svc.AbortAsync(ShopFixture.Namespace, "shop")));
        Assert.Equal(writes, env.Cluster.Writes.Count);
    }

    /// <summary>A rollout at 20% whose state ConfigMap and Lease (with its spec copy) someone deleted.</summary>
    private static async Task<SandboxEnvironment> StateAndLeaseDeletedAsync()
    {
        var env = await StateDeletedAsync();
        await env.Cluster.DeleteAsync(ResourceType.Lease, ShopFixture.Namespace, "kubestead-shop");
        return env;
    }

    private static readonly SpecFile IstioSpecFile = new("examples/sandbox/istio.yaml", SandboxDemoTests.SpecFor("istio"));

    private static void AssertAbortedByTheSpecFile(SandboxEnvironment env)
    {
        Assert.Equal(0, CanaryShare(env));
        Assert.Null(env.Cluster.Peek(ResourceType.Deployment, ShopFixture.Namespace, "shop-canary"));
        var vs = env.Cluster.Peek(ShopFixture.VirtualService, ShopFixture.Namespace, "shop")!;
        Assert.Null(vs["metadata"]!["annotations"]?["kubestead.io/rollout"]);
        Assert.DoesNotContain(vs["spec"]!["http"]!.AsArray(), r => r!["name"]?.GetValue<string>()?.StartsWith("kubestead-", StringComparison.Ordinal) == true);
    }

    [Fact]
    public async Task With_neither_state_nor_lease_abort_by_the_spec_file_sends_traffic_to_stable_removes_the_canary_and_records_it()
    {
        var env = await StateAndLeaseDeletedAsync();
        await using var ops = env.CreateService(NullRolloutObserver.Instance, "ops");
        var writes = env.Cluster.Writes.Count;
        var plan = await Task.Run(() => ops.PlanAsync(new AbortOperation(ShopFixture.Namespace, "shop") { SpecFile = IstioSpecFile }));
        Assert.Contains(plan, c => c.Verb == "create" && c.Description.Contains("spec file examples/sandbox/istio.yaml", StringComparison.Ordinal));
        Assert.Equal(writes, env.Cluster.Writes.Count);

        var aborted = await Task.Run(() => ops.AbortAsync(ShopFixture.Namespace, "shop", waitForCleanup: true, IstioSpecFile));

        Assert.True(aborted is { Phase: RolloutPhase.Aborted, CleanupPending: false }, $"{aborted.Phase}: {aborted.Message}");
        AssertAbortedByTheSpecFile(env);
        Assert.Contains("spec file examples/sandbox/istio.yaml", (await ops.GetAsync(ShopFixture.Namespace, "shop")).History.First(h => h.Kind == "abort").Message);
    }

    [Theory]
    [InlineData("name: shop", "name: other", "metadata.name is 'other'")]
    [InlineData("namespace: shop", "namespace: elsewhere", "metadata.namespace is 'elsewhere'")]
    // Written out, "default" is a namespace like any other (only a file without metadata.namespace means the one given).
    [InlineData("namespace: shop", "namespace: default", "metadata.namespace is 'default'")]
    [InlineData("meshProvider: istio", "meshProvider: consul", "meshProvider")]
    public async Task Abort_by_a_spec_file_of_another_rollout_or_a_bad_one_is_refused_naming_the_field_and_writes_nothing(string from, string to, string named)
    {
        var env = await StateAndLeaseDeletedAsync();
        await using var ops = env.CreateService(NullRolloutObserver.Instance, "ops");
        Assert.Contains(from, IstioSpecFile.Yaml);
        var wrong = IstioSpecFile with { Yaml = IstioSpecFile.Yaml.Replace(from, to, StringComparison.Ordinal) };
        var writes = env.Cluster.Writes.Count;

        var planRefused = await Assert.ThrowsAnyAsync<KubesteadException>(() => Task.Run(() => ops.PlanAsync(new AbortOperation(ShopFixture.Namespace, "shop") { SpecFile = wrong })));
        var refused = await Assert.ThrowsAnyAsync<KubesteadException>(() => Task.Run(() => ops.AbortAsync(ShopFixture.Namespace, "shop", waitForCleanup: true, wrong)));

        Assert.Contains(named, refused.Message);
        Assert.Contains("examples/sandbox/istio.yaml", refused.Message);
        Assert.Equal(refused.Message, planRefused.Message);
        Assert.Equal(KubesteadErrorKind.InvalidInput, refused.Kind);
        Assert.Equal(writes, env.Cluster.Writes.Count);
        Assert.Equal(0.2, CanaryShare(env), 2);
    }

    [Fact]
    public async Task An_abort_by_the_spec_file_interrupted_at_any_write_is_finished_by_the_next_abort()
    {
        var clean = await StateAndLeaseDeletedAsync();
        var before = clean.Cluster.Writes.Count;
        await using (var ops = clean.CreateService(NullRolloutObserver.Instance, "ops"))
            Assert.False((await Task.Run(() => ops.AbortAsync(ShopFixture.Namespace, "shop", waitForCleanup: true, IstioSpecFile))).CleanupPending);
        var abortWrites = clean.Cluster.Writes.Count - before;
        Assert.True(abortWrites >= 4, $"the abort made only {abortWrites} writes: {string.Join("; ", clean.Cluster.Writes.Skip(before))}");

        await AbortInterruptions.EachWriteAsync(StateAndLeaseDeletedAsync, abortWrites, waitForCleanup: true, (env, n, result) =>
        {
            Assert.True(result.Phase == RolloutPhase.Aborted && !result.CleanupPending, $"interrupted at write {n} of {abortWrites}: {result.Phase}, pending {result.CleanupPending}");
            AssertAbortedByTheSpecFile(env);
        }, IstioSpecFile);
    }

    private static double CanaryShare(SandboxEnvironment env) => ShopFixture.Reader(env.Cluster, env.Mesh)().CanaryShare;
}
