using System.Text.Json.Nodes;

namespace Kubestead.Tests.Shared;

/// <summary>
/// The app the controller tests roll out (a Deployment of 2, its Service, and a one-pause Rollout spec), shared by the
/// sandbox's controller fleet and the CLI's real-server controller test so both exercise the same shapes; linked into both.
/// </summary>
internal static class ControllerTestApp
{
    public static JsonObject Deployment(string ns, string app) => JsonNode.Parse($$$"""
        {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"{{{app}}}","namespace":"{{{ns}}}","labels":{"app":"{{{app}}}"} },
         "spec":{"replicas":2,"selector":{"matchLabels":{"app":"{{{app}}}","version":"stable"} },
                 "template":{"metadata":{"labels":{"app":"{{{app}}}","version":"stable"} },
                             "spec":{"containers":[{"name":"app","image":"registry.example.com/{{{app}}}:1.0.0"}]} } } }
        """)!.AsObject();

    public static JsonObject Service(string ns, string app) => JsonNode.Parse($$$"""
        {"apiVersion":"v1","kind":"Service","metadata":{"name":"{{{app}}}","namespace":"{{{ns}}}"},
         "spec":{"selector":{"app":"{{{app}}}"},"ports":[{"name":"http","port":80,"targetPort":8080,"protocol":"TCP"}]} }
        """)!.AsObject();

    /// <summary>
    /// A Rollout of <paramref name="app"/> to 2.0.0: 50 %, then a pause. The timings differ by host: the sandbox's virtual
    /// clock can afford minutes, a real server's test cannot, so it also scales the canary down at once.
    /// </summary>
    public static string RolloutSpec(string ns, string app, string readyTimeout, string pause, string? scaleDownDelay = null) => $"""
        apiVersion: kubestead.io/v1alpha1
        kind: Rollout
        metadata:
          name: {app}
          namespace: {ns}
        spec:
          service: {app}
          meshProvider: none
          none:
            capacity: keepStable
            readyTimeout: {readyTimeout}
          stable:
            deployment: {app}
          canary:
            image: registry.example.com/{app}:2.0.0
        {(scaleDownDelay is null ? "" : $"  scaleDownDelay: {scaleDownDelay}\n")}  steps:
            - setWeight: 50
            - pause:
                duration: {pause}
        """;

    /// <summary>The counter (one series per Deployment) that <see cref="AnalysisRolloutSpec"/> judges.</summary>
    public const string TestRequestsMetric = "kubestead_test_requests_total";

    /// <summary>
    /// A Rollout of <paramref name="app"/> to 2.0.0 that is judged, for the controller's scale test and bench: 50 %, then
    /// an analysis step that lasts until a verdict, read every 5 s from <paramref name="prometheus"/> (a
    /// GatedCanaryPrometheus, whose closed gate keeps every rollout in analysis until the test opens it).
    /// </summary>
    public static string AnalysisRolloutSpec(string ns, string app, Uri prometheus) => $$$"""
        apiVersion: kubestead.io/v1alpha1
        kind: Rollout
        metadata:
          name: {{{app}}}
          namespace: {{{ns}}}
        spec:
          service: {{{app}}}
          meshProvider: none
          none:
            capacity: keepStable
            readyTimeout: 2m
          stable:
            deployment: {{{app}}}
          canary:
            image: registry.example.com/{{{app}}}:2.0.0
          scaleDownDelay: 0s
          steps:
            - setWeight: 50
            - analysis:
                untilVerdict: true
          analysis:
            interval: 5s
            metrics:
              - name: success-rate
                provider:
                  prometheus:
                    address: {{{prometheus}}}
                    requestsQuery: {{{TestRequestsMetric}}}{namespace="{{namespace}}",deployment="{{deployment}}"}
                    failuresQuery: {{{TestRequestsMetric}}}{namespace="{{namespace}}",deployment="{{deployment}}",code="500"}
                judge:
                  threshold:
                    successRate: 99
        """;
}
