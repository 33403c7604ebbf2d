using System.Text.Json.Nodes;
using Kubestead.Rollouts.Canary;

namespace Kubestead.Core.Tests.Rollouts;

/// <summary>Issue #26 item 6: the reason a canary's pods are not ready, as Kubernetes reports it on pods and Deployments.</summary>
public class PodTroubleTests
{
    private static JsonObject Json(string text) => JsonNode.Parse(text)!.AsObject();

    private static readonly JsonObject PlainDeployment = Json("""{"status":{"replicas":2,"readyReplicas":0}}""");

    [Fact]
    public void A_waiting_container_is_named_with_its_reason_message_last_exit_and_restarts()
    {
        var pods = new[]
        {
            Json("""{"metadata":{"name":"shop-canary-ok"},"status":{"containerStatuses":[{"name":"app","ready":true,"state":{"running":{}}}]}}"""),
            Json("""
                {"metadata":{"name":"shop-canary-7d9"},"status":{"containerStatuses":[{"name":"app","ready":false,"restartCount":6,
                 "state":{"waiting":{"reason":"CrashLoopBackOff","message":"back-off 2m40s restarting failed container=app"}},
                 "lastState":{"terminated":{"reason":"Error","exitCode":1}}}]}}
                """),
        };
        Assert.Equal("pod shop-canary-7d9: container app is CrashLoopBackOff (back-off 2m40s restarting failed container=app); last exit: Error, 6 restarts",
            PodTrouble.Describe(PlainDeployment, pods));
    }

    [Fact]
    public void An_init_container_that_cannot_pull_its_image_is_found_before_the_main_container()
    {
        var pod = Json("""
            {"metadata":{"name":"p"},"status":{
             "initContainerStatuses":[{"name":"migrate","ready":false,"state":{"waiting":{"reason":"ImagePullBackOff"}}}],
             "containerStatuses":[{"name":"app","ready":false,"state":{"waiting":{"reason":"PodInitializing"}}}]}}
            """);
        Assert.Equal("pod p: container migrate is ImagePullBackOff", PodTrouble.Describe(PlainDeployment, [pod]));
    }

    [Fact]
    public void An_unschedulable_pod_and_a_deployment_that_cannot_create_pods_are_reported()
    {
        var pending = Json("""
            {"metadata":{"name":"p"},"status":{"phase":"Pending","conditions":[{"type":"PodScheduled","status":"False","reason":"Unschedulable","message":"0/3 nodes are available: 3 Insufficient cpu."}]}}
            """);
        Assert.Equal("pod p: not scheduled: Unschedulable (0/3 nodes are available: 3 Insufficient cpu.)", PodTrouble.Describe(PlainDeployment, [pending]));
        var quota = Json("""
            {"status":{"conditions":[{"type":"ReplicaFailure","status":"True","reason":"FailedCreate","message":"pods \"x\" is forbidden: exceeded quota"}]}}
            """);
        Assert.Equal("no pod could be created: FailedCreate (pods \"x\" is forbidden: exceeded quota)", PodTrouble.Describe(quota, []));
        Assert.Equal("no pods exist yet", PodTrouble.Describe(PlainDeployment, []));
    }

    [Fact]
    public void A_long_kubelet_message_is_cut()
    {
        var pod = Json("""{"metadata":{"name":"p"},"status":{"containerStatuses":[{"name":"app","state":{"waiting":{"reason":"CreateContainerConfigError","message":"MESSAGE"}}}]}}"""
            .Replace("MESSAGE", new string('x', 500), StringComparison.Ordinal));
        var text = PodTrouble.Describe(PlainDeployment, [pod])!;
        Assert.True(text.Length < 260, text);
        Assert.EndsWith("…)", text);
    }
}
