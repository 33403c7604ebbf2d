using System.Text;
using System.Text.Json.Nodes;
using Kubestead.Analysis;
using Kubestead.Core.Tests.Metrics.Connection;
using Kubestead.Kubernetes;
using Kubestead.Metrics;
using Kubestead.Metrics.Prometheus;
using Kubestead.Specs;

namespace Kubestead.Core.Tests.Metrics;

/// <summary>
/// The istio example with its metric read from another provider, and the differential check every provider passes:
/// the same traffic judged through it and through a real Prometheus gives the same verdicts.
/// </summary>
public static class ProviderSpecs
{
    /// <summary>The istio example with the prometheus block replaced by <c>key:</c> and <paramref name="block"/> (YAML at the block's indentation).</summary>
    public static string Spec(string key, string block) =>
        File.ReadAllText(Path.Combine(RepoPaths.Examples, "istio.yaml")).Replace(
            "          prometheus:\n            address: http://prometheus.istio-system:9090\n            builtin: istio\n",
            $"          {key}:\n" + string.Concat(block.Split('\n').Where(l => l.Length > 0).Select(l => "            " + l + "\n")));

    /// <summary>An emulated cluster holding one Secret <paramref name="name"/> in the example's namespace (web) with <paramref name="data"/>.</summary>
    public static Kubestead.Sandbox.Cluster.EmulatedCluster ClusterWithSecret(string name, params (string Key, string Value)[] data)
    {
        var api = new Kubestead.Sandbox.Cluster.EmulatedCluster();
        var values = new JsonObject();
        foreach (var (key, value) in data) values[key] = Convert.ToBase64String(Encoding.UTF8.GetBytes(value));
        api.Seed(ResourceType.Secret, new JsonObject
        {
            ["apiVersion"] = "v1", ["kind"] = "Secret", ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = "web" }, ["data"] = values,
        });
        return api;
    }

    public static RolloutSpec Parse(string yaml)
    {
        var result = RolloutSpecParser.Parse(yaml);
        Assert.True(result.IsValid, string.Join("; ", result.Problems.Select(p => $"{p.Field}: {p.Message}")));
        return result.Spec!;
    }

    /// <summary>A window with no traffic is judged insufficient data by the spec's judge: never a pass.</summary>
    public static void AssertInsufficientData(RolloutSpec spec, MetricWindow window)
    {
        var judge = JudgeFactory.Create(spec.Analysis!.Metrics[0]);
        judge.Observe(window);
        Assert.Equal(VerdictOutcome.InsufficientData, judge.Evaluate().Outcome);
    }

    /// <summary>
    /// Judges the windows of minutes 1 to 29 of <see cref="PrometheusIntegrationTests.Generate"/>'s traffic through
    /// <paramref name="provider"/> (its server answering from <c>at</c>) and through Prometheus: the verdicts must be the same,
    /// and must include a failure (so the comparison is not of two always-passing judges).
    /// </summary>
    public static async Task AssertSameVerdictsAsPrometheusAsync(PrometheusServer prom, RolloutSpec spec, MetricWindowQuery provider)
    {
        var promSpec = Parse(PrometheusConnectionSpecTests.Spec("", prom.Address.ToString().TrimEnd('/')));
        var sources = new[]
        {
            (Query: provider, Judge: JudgeFactory.Create(spec.Analysis!.Metrics[0])),
            (Query: new PrometheusMetricProvider(new HttpClient()).Open(promSpec, promSpec.Analysis!.Metrics[0]), Judge: JudgeFactory.Create(promSpec.Analysis.Metrics[0])),
        };
        var verdicts = sources.Select(_ => new List<VerdictOutcome>()).ToArray();
        for (var minute = 1; minute < 29; minute += 2)
            for (var i = 0; i < sources.Length; i++)
            {
                var window = await sources[i].Query(PrometheusIntegrationTests.T0.AddMinutes(minute), PrometheusIntegrationTests.T0.AddMinutes(minute + 2), CancellationToken.None);
                sources[i].Judge.Observe(window);
                verdicts[i].Add(sources[i].Judge.Evaluate().Outcome);
            }
        Assert.Equal(verdicts[1], verdicts[0]);
        Assert.Contains(VerdictOutcome.Fail, verdicts[0]);
    }
}
