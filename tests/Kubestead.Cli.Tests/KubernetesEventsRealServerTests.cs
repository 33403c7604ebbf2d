using System.Text.Json.Nodes;
using Kubestead.Events;
using Kubestead.Kubernetes;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Tests.Shared;

namespace Kubestead.Cli.Tests;

/// <summary>
/// Kubestead's Events on the real kube-apiserver: accepted by its events.k8s.io/v1 validation, aggregated into a series
/// by a patch it accepts, and visible through core/v1 as `kubectl describe deployment` reads them (involvedObject, count).
/// </summary>
public sealed class KubernetesEventsRealServerTests
{
    private static readonly ResourceType CoreEvent = new("", "v1", "events", "Event");

    [RealServerFact]
    public async Task Events_regard_the_Deployment_and_repeats_become_a_series_that_kubectl_describe_counts()
    {
        var admin = RealApiServer.Connect(RealApiServer.Kubeconfig, "admin");
        var ns = await RealApiServer.CreateNamespaceAsync(admin, "ksevents");
        await admin.CreateAsync(ResourceType.Deployment, ns, ControllerTestApp.Deployment(ns, "shop"));
        await admin.CreateAsync(ResourceType.Service, ns, ControllerTestApp.Service(ns, "shop"));
        await using (var ci = new KubesteadService(RealApiServer.Connect(RealApiServer.Kubeconfig, "admin"), new KubesteadServiceOptions { Driver = new DriverIdentity("ci", "runner", null, "ci") }))
            await ci.StartAsync(new StartRequest { SpecYaml = ControllerTestApp.RolloutSpec(ns, "shop", readyTimeout: "1m", pause: "30s", scaleDownDelay: "0s") }, wait: false);

        await using (var recorder = new KubernetesEventRecorder(NullRolloutObserver.Instance, admin, TimeProvider.System, "ci@runner"))
        {
            recorder.OnEvent(new WeightAppliedEvent(DateTimeOffset.UtcNow, ns, "shop", 50, 50, "replica ratio"));
            recorder.OnEvent(new WarningEvent(DateTimeOffset.UtcNow, ns, "shop", "metrics unavailable"));
            recorder.OnEvent(new WarningEvent(DateTimeOffset.UtcNow, ns, "shop", "metrics unavailable"));
            await recorder.FlushAsync();
            Assert.Equal(0, recorder.Failures);
        }

        var events = (await admin.ListAsync(KubernetesEventRecorder.EventType, ns)).Items;
        var weight = Assert.Single(events, e => e["reason"]?.GetValue<string>() == "WeightChanged");
        Assert.Equal("SetWeight", weight["action"]!.GetValue<string>());
        Assert.Equal("canary 50%, stable 50% (replica ratio)", weight["note"]!.GetValue<string>());
        Assert.Equal(KubernetesEventRecorder.ReportingController, weight["reportingController"]!.GetValue<string>());
        Assert.Equal("ci@runner", weight["reportingInstance"]!.GetValue<string>());
        var deployment = await admin.GetAsync(ResourceType.Deployment, ns, "shop");
        Assert.Equal(deployment["metadata"]!["uid"]!.GetValue<string>(), weight["regarding"]!["uid"]!.GetValue<string>());
        var warning = Assert.Single(events, e => e["reason"]?.GetValue<string>() == "RolloutWarning");
        Assert.Equal("Warning", warning["type"]!.GetValue<string>());
        Assert.Equal(2, warning["series"]!["count"]!.GetValue<int>());

        // What `kubectl describe deployment shop` lists: core/v1 Events whose involvedObject is the Deployment.
        var described = (await admin.ListAsync(CoreEvent, ns, new ListOptions(FieldSelector: $"involvedObject.kind=Deployment,involvedObject.name=shop"))).Items;
        Assert.Equal(2, described.Count);
        // kubectl describe prints a series as "(x2 over ...)" from series.count.
        Assert.Equal(2, described.Single(e => e["reason"]!.GetValue<string>() == "RolloutWarning")["series"]!["count"]!.GetValue<int>());
    }
}
