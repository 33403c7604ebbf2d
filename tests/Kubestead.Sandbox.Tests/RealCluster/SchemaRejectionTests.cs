using Kubestead.Rollouts;


namespace Kubestead.Sandbox.Tests.RealCluster;

/// <summary>A spec value the CRD's schema refuses reaches the user as invalid input naming the field, not as a server error.</summary>
public class SchemaRejectionTests
{
    [RealClusterFact]
    public async Task A_header_name_the_HTTPRoute_schema_refuses_is_an_invalid_input_error()
    {
        await using var env = await RealRolloutEnvironment.CreateAsync("schema");
        await env.SeedAsync(MeshFixtures.LinkerdObjects(MeshFixtures.GatewayRoute));
        var service = await env.ServiceAsync(RealRolloutEnvironment.JumpingClock());
        var spec = MeshFixtures.LinkerdSpec(env.Namespace, "gateway.networking.k8s.io").Replace(MeshFixtures.Steps, """
              steps:
                - setHeaderRoute:
                    name: testers
                    match:
                      - headerName: x canary
                        headerValue: { exact: "true" }
                - setWeight: 10
            """);

        var e = await Assert.ThrowsAnyAsync<KubesteadException>(() => service.StartAsync(new StartRequest { SpecYaml = spec }, wait: true));

        Assert.Equal(KubesteadErrorKind.InvalidInput, e.Kind);
        Assert.Contains("httproutes.gateway.networking.k8s.io/checkout", e.Message);
        Assert.Contains("headers[0].name", e.Message);
        Assert.Contains("x canary", e.Message);
        var route = await env.GetAsync(MeshFixtures.GatewayRoute, "checkout");
        Assert.Equal(2, route["spec"]!["rules"]!.AsArray().Count);
    }
}
