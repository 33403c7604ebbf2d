using Kubestead.Specs;

namespace Kubestead.Rollouts;

/// <summary>What is legal in a spec but probably not meant: shown by start (as warnings) and validate (as plan checks).</summary>
public static class PlanWarnings
{
    public static IEnumerable<string> For(RolloutSpec spec)
    {
        if (spec.Analysis is null) yield return "no analysis is configured: the canary will be promoted after its steps without any metric check";
        foreach (var (step, i) in spec.Steps.Select((s, i) => (s, i)))
            if (step is SetWeightStepSpec w && PercentFields.WeightWarning(i, w.Weight) is { } warning) yield return warning;
        foreach (var m in spec.Analysis?.Metrics ?? [])
            if (m.Provider is Metrics.Prometheus.PrometheusProviderSpec { Connection.Tls: { InsecureSkipVerify: true } tls })
                yield return $"{tls.Field}.insecureSkipVerify: the metrics server's certificate is not checked; anyone on the path can answer as it and pass the canary";
    }
}
