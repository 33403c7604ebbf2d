using Kubestead.Metrics.Prometheus;
using Kubestead.Specs;

namespace Kubestead.Core.Tests.Specs;

public class Linkerd1SpecTests
{
    [Fact]
    public void The_linkerd1_section_is_read_with_canonical_paths_and_defaults()
    {
        var spec = RolloutSpecParser.ParseFile(Path.Combine(RepoPaths.Examples, "linkerd1.yaml")).Spec!;
        Assert.Equal(MeshProviders.Linkerd1, spec.MeshProvider);
        var l = spec.Linkerd1!;
        Assert.Equal(new Uri("http://namerd.linkerd:4180"), l.Namerd);
        Assert.Equal(("default", "/svc/users", "/env/prod/users", "/env/prod/users-v2", "users-v2"),
            (l.DtabNamespace, l.Prefix, l.StableDestination, l.CanaryDestination, l.CanaryService));
        Assert.Equal("linkerd1", spec.Analysis!.Metrics[0].Provider is PrometheusProviderSpec p ? p.Builtin : null);
        Assert.Contains(spec.Steps, s => s is SetWeightStepSpec { Weight: 0.5 });
    }

    [Fact]
    public void Linkerd1_settings_under_another_mesh_are_reported()
    {
        var yaml = File.ReadAllText(Path.Combine(RepoPaths.Examples, "linkerd1.yaml")).Replace("meshProvider: linkerd1", "meshProvider: smi");
        var result = RolloutSpecParser.Parse(yaml);
        Assert.Contains(result.Problems, p => p.Field == "spec.linkerd1" && p.Message.Contains("do not apply"));
    }

    [Fact]
    public void The_builtin_query_counts_linkerd_1_clients_by_the_canary_and_stable_Service()
    {
        var provider = new PrometheusProviderSpec("http://prometheus:9090", "linkerd1", null, null, null, TimeSpan.FromSeconds(5));
        var source = new PrometheusMetricSource(new PrometheusClient(new HttpClient(), new Uri("http://prometheus:9090/"), null, TimeSpan.FromSeconds(5)),
            provider, "prod", "users-v2", "users");
        var (requests, failures, buckets) = source.Queries("users-v2");
        Assert.Equal("rt:client:requests{client=~\".*/#/io\\\\.l5d\\\\.k8s/prod/[^/]+/users-v2\"}", requests);
        Assert.Equal("rt:client:failures{client=~\".*/#/io\\\\.l5d\\\\.k8s/prod/[^/]+/users-v2\"}", failures);
        Assert.Null(buckets);
    }
}
