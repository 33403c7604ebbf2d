using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.State;

namespace Kubestead.Sandbox.Tests.RealCluster;

/// <summary>
/// What Kubestead writes into a production-shaped Istio VirtualService on the real server, checked object-whole:
/// mid-rollout, after abort, after promotion, with header routes, and when someone else replaces the route.
/// </summary>
public class RolloutLifecycleTests
{
    private const string PrimaryWeights = @"^/spec/http/1/route/[01]/weight$";
    private const string KubesteadAnnotations = @"^/metadata/annotations(/kubestead\.io~1.*)?$";

    private static string HoldAt30 => """
          steps:
            - setWeight: 30
            - pause: {}
        """;

    private static async Task<(RealRolloutEnvironment Env, KubesteadService Service, JsonObject VsBefore, RolloutResult Paused)> PausedAt30Async(string prefix, string? steps = null)
    {
        var env = await RealRolloutEnvironment.CreateAsync(prefix);
        await env.SeedAsync(MeshFixtures.IstioSubsetObjects());
        var before = await env.GetAsync(MeshFixtures.VirtualService, "reviews");
        var service = await env.ServiceAsync(RealRolloutEnvironment.JumpingClock());
        var paused = await service.StartAsync(new StartRequest { SpecYaml = MeshFixtures.IstioSubsetSpec(env.Namespace, steps ?? HoldAt30) }, wait: true);
        return (env, service, before, paused);
    }

    [RealClusterFact]
    public async Task Mid_rollout_only_the_two_weight_fields_differ_from_what_the_user_wrote()
    {
        var (env, _, before, paused) = await PausedAt30Async("diff");
        await using var _ = env;
        Assert.Equal(RolloutPhase.Paused, paused.Phase);
        var during = await env.GetAsync(MeshFixtures.VirtualService, "reviews");

        Assert.Empty(ObjectDiff.Unexpected(before, during, PrimaryWeights, KubesteadAnnotations));
        Assert.Equal(["/spec/http/1/route/0/weight", "/spec/http/1/route/1/weight"],
            ObjectDiff.Changed(before["spec"], during["spec"]).Select(p => "/spec" + p).ToList());
        Assert.Equal(70, during["spec"]!["http"]![1]!["route"]![0]!["weight"]!.GetValue<int>());
        Assert.Equal(30, during["spec"]!["http"]![1]!["route"]![1]!["weight"]!.GetValue<int>());
        Assert.All((during["metadata"]!["annotations"] as JsonObject ?? new JsonObject()).Select(kv => kv.Key),
            k => Assert.StartsWith("kubestead.io/", k));
    }

    [RealClusterFact]
    public async Task Abort_restores_the_route_exactly_and_removes_the_canary()
    {
        var (env, service, before, _) = await PausedAt30Async("abort");
        await using var _ = env;

        var aborted = await service.AbortAsync(env.Namespace, "reviews", waitForCleanup: true);

        Assert.Equal(RolloutPhase.Aborted, aborted.Phase);
        Assert.Empty(ObjectDiff.Unexpected(before, await env.GetAsync(MeshFixtures.VirtualService, "reviews")));
        var gone = await Assert.ThrowsAsync<KubernetesApiException>(() => env.GetAsync(ResourceType.Deployment, "reviews-canary"));
        Assert.True(gone.IsNotFound);
        Assert.Equal("registry.example.com/app:1.0.0",
            (await env.GetAsync(ResourceType.Deployment, "reviews"))["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]!.GetValue<string>());
    }

    [RealClusterFact]
    public async Task Promotion_copies_the_canary_pod_spec_exactly_and_nothing_else()
    {
        var (env, service, before, _) = await PausedAt30Async("promote");
        await using var _ = env;
        var canary = await env.GetAsync(ResourceType.Deployment, "reviews-canary");
        var stableBefore = await env.GetAsync(ResourceType.Deployment, "reviews");

        var promoted = await service.PromoteAsync(env.Namespace, "reviews", wait: true);

        Assert.Equal(RolloutPhase.Completed, promoted.Phase);
        var stableAfter = await env.GetAsync(ResourceType.Deployment, "reviews");
        Assert.Empty(ObjectDiff.Changed(canary["spec"]!["template"]!["spec"], stableAfter["spec"]!["template"]!["spec"]));
        Assert.Equal(["/spec/template/spec/containers/0/image"], ObjectDiff.Unexpected(stableBefore, stableAfter, @"^/status(/.*)?$"));
        Assert.Empty(ObjectDiff.Unexpected(before, await env.GetAsync(MeshFixtures.VirtualService, "reviews")));
    }

    [RealClusterFact]
    public async Task Header_routes_are_added_before_the_primary_route_and_removed_without_a_trace()
    {
        const string steps = """
              steps:
                - setHeaderRoute:
                    name: testers
                    match:
                      - headerName: x-canary
                        headerValue: { exact: "true" }
                - setWeight: 10
                - pause: {}
            """;
        var (env, service, before, paused) = await PausedAt30Async("header", steps);
        await using var _ = env;
        Assert.Equal(RolloutPhase.Paused, paused.Phase);
        var with = await env.GetAsync(MeshFixtures.VirtualService, "reviews");
        var header = with["spec"]!["http"]!.AsArray().Single(r => r!["match"]?[0]?["headers"]?["x-canary"] is not null)!;
        Assert.Equal("true", header["match"]![0]!["headers"]!["x-canary"]!["exact"]!.GetValue<string>());
        Assert.Equal("canary", header["route"]![0]!["destination"]!["subset"]!.GetValue<string>());
        Assert.Equal(4, with["spec"]!["http"]!.AsArray().Count);

        await service.RemoveHeaderRouteAsync(env.Namespace, "reviews", "testers");

        var without = await env.GetAsync(MeshFixtures.VirtualService, "reviews");
        Assert.Empty(ObjectDiff.Unexpected(before, without, PrimaryWeights, KubesteadAnnotations));
    }

    [RealClusterFact]
    public async Task Drift_by_an_external_replace_pauses_the_rollout_and_is_reported()
    {
        await using var env = await RealRolloutEnvironment.CreateAsync("drift");
        await env.SeedAsync(MeshFixtures.IstioSubsetObjects());
        await using var pumped = new PumpedClock();
        var service = await env.ServiceAsync(pumped.Clock, leaseDuration: TimeSpan.FromHours(1));
        const string steps = """
              steps:
                - setWeight: 30
                - pause: { duration: 2h }
                - setWeight: 60
            """;
        var driving = Task.Run(() => service.StartAsync(new StartRequest { SpecYaml = MeshFixtures.IstioSubsetSpec(env.Namespace, steps) }, wait: true));
        await RealRolloutEnvironment.WaitForAsync(service, env.Namespace, "reviews", r => r.CanaryWeight == 30 && r.StepIndex == 1);

        // What `kubectl replace` of the route from git would do: the whole object back to 100/0.
        var vs = await env.GetAsync(MeshFixtures.VirtualService, "reviews");
        vs["spec"]!["http"]![1]!["route"]![0]!["weight"] = 100;
        vs["spec"]!["http"]![1]!["route"]![1]!["weight"] = 0;
        await env.Admin.ReplaceAsync(MeshFixtures.VirtualService, env.Namespace, "reviews", vs);

        var result = await driving.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(RolloutPhase.Paused, result.Phase);
        Assert.Equal(PauseReason.Drift, result.PauseReason);
        Assert.Equal(0, (await env.GetAsync(MeshFixtures.VirtualService, "reviews"))["spec"]!["http"]![1]!["route"]![1]!["weight"]!.GetValue<int>());
    }

    [RealClusterKubectlFact]
    public async Task Kubectl_reads_what_Kubestead_wrote()
    {
        var (env, _, _, _) = await PausedAt30Async("kubectl");
        await using var _ = env;

        var weight = await KubectlAsync("-n", env.Namespace, "get", "virtualservices.networking.istio.io", "reviews", "-o", "jsonpath={.spec.http[1].route[1].weight}");
        var phase = await KubectlAsync("-n", env.Namespace, "get", "configmap", "-l", "app.kubernetes.io/managed-by=kubestead", "-o", "jsonpath={.items[0].metadata.name}");

        Assert.Equal("30", weight);
        Assert.Equal("kubestead-reviews", phase);
    }

    private static async Task<string> KubectlAsync(params string[] args)
    {
        var psi = new System.Diagnostics.ProcessStartInfo(Server.KubectlTests.Kubectl!) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--kubeconfig", RealCluster.Kubeconfig, "--context", RealCluster.Admin }.Concat(args)) psi.ArgumentList.Add(a);
        psi.Environment["HOME"] = Path.GetTempPath(); // no user cache or config leaks in
        using var p = System.Diagnostics.Process.Start(psi)!;
        var output = await p.StandardOutput.ReadToEndAsync();
        var error = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.True(p.ExitCode == 0, $"kubectl {string.Join(' ', args)}: {error}");
        return output.Trim();
    }

    [RealClusterFact]
    public async Task A_raw_http_read_with_the_kubeconfig_token_sees_what_Kubestead_wrote()
    {
        var (env, _, _, _) = await PausedAt30Async("raw");
        await using var _ = env;
        using var http = RawHttp.Create(RealCluster.Kubeconfig, RealCluster.Admin);

        var vs = await RawHttp.GetJsonAsync(http, $"apis/networking.istio.io/v1/namespaces/{env.Namespace}/virtualservices/reviews");
        var state = await RawHttp.GetJsonAsync(http, $"api/v1/namespaces/{env.Namespace}/configmaps/kubestead-reviews");
        var lease = await RawHttp.GetJsonAsync(http, $"apis/coordination.k8s.io/v1/namespaces/{env.Namespace}/leases/kubestead-reviews");

        Assert.Equal(30, vs["spec"]!["http"]![1]!["route"]![1]!["weight"]!.GetValue<int>());
        Assert.Equal("kubestead", state["metadata"]!["labels"]!["app.kubernetes.io/managed-by"]!.GetValue<string>());
        var status = JsonNode.Parse(state["data"]!["status.json"]!.GetValue<string>())!;
        Assert.Equal("paused", status["phase"]!.GetValue<string>());
        Assert.Equal(30, status["canaryWeight"]!.GetValue<double>());
        Assert.Equal("Lease", lease["kind"]!.GetValue<string>());
    }
}
