using Kubestead.Specs;

namespace Kubestead.Bench.CanarySim;

/// <summary>
/// The built-in engine <c>default</c> (issue #29 item 1): exactly what a spec without analysis settings gets. Its values
/// are read from the spec parser's own defaults for a metric with only a name and a provider, so the benchmark's
/// headline engine cannot drift from the product's.
/// </summary>
public static class SpecDefaultVariant
{
    public const string Name = "default";

    private const string MinimalSpec = """
        apiVersion: kubestead.io/v1alpha1
        kind: Rollout
        metadata: { name: bench, namespace: bench }
        spec:
          service: bench
          meshProvider: linkerd
          linkerd: { canaryService: bench-canary }
          stable: { deployment: bench }
          canary: { image: bench:2 }
          steps:
            - setWeight: 10
          analysis:
            metrics:
              - name: errors
                provider: { prometheus: { address: "http://127.0.0.1:9090" } }
        """;

    public static EngineVariant Create()
    {
        var parsed = RolloutSpecParser.Parse(MinimalSpec);
        var analysis = parsed.Spec?.Analysis ?? throw new InvalidOperationException("the minimal spec no longer parses: " + string.Join("; ", parsed.Problems));
        var judge = analysis.Metrics.Single().Judge;
        if (judge.Kind != "sequential" || judge.LatencyThresholdMs is not null)
            throw new InvalidOperationException($"the spec's default judge is now '{judge.Kind}': the benchmark's default engine needs updating");
        return new EngineVariant
        {
            Name = Name,
            IntervalSeconds = (int)Math.Round(analysis.Interval.TotalSeconds),
            WarmupSeconds = analysis.Warmup.TotalSeconds,
            WarmupAfterWeightChange = analysis.WarmupAfterWeightChange,
            Background = analysis.Background,
            Alpha = judge.Alpha,
            DetectRatio = judge.DetectRatio,
            AllowedIncrease = judge.AllowedIncrease,
        };
    }
}
