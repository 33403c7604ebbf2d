using System.Globalization;

namespace Kubestead.Traffic;

public enum CapacityMode { KeepStable, KeepTotal }

/// <summary>Pods of each version for a share; <see cref="BaselineReplicas"/> are a created baseline's (as many as the canary's).</summary>
public sealed record ReplicaPlan(int StableReplicas, int CanaryReplicas, int BaselineReplicas = 0)
{
    private int Total => StableReplicas + CanaryReplicas + BaselineReplicas;

    public double CanaryPercent => Total == 0 ? 0 : 100.0 * CanaryReplicas / Total;

    public double BaselinePercent => Total == 0 ? 0 : 100.0 * BaselineReplicas / Total;

    public double StablePercent => Total == 0 ? 0 : 100.0 * StableReplicas / Total;
}

/// <summary>
/// Without a mesh, a Service spreads connections over ready pods, so the canary's share is Nc/(Nc+Ns). With
/// <see cref="CapacityMode.KeepStable"/> stable keeps its N pods and canary pods are added (smallest share 1/(N+1));
/// with <see cref="CapacityMode.KeepTotal"/> pods move from stable to canary (smallest share 1/N). A created baseline
/// gets as many pods as the canary, so the Service spreads stable:canary:baseline as Ns:Nc:Nc (smallest share 1/(N+2)
/// keeping stable, 1/N moving pods, which needs at least 3).
/// </summary>
public static class ReplicaRatioPlanner
{
    public static double MinimumPercent(int stableReplicas, CapacityMode mode, bool baseline = false) =>
        mode == CapacityMode.KeepStable ? 100.0 / (stableReplicas + (baseline ? 2 : 1)) : 100.0 / Math.Max(1, stableReplicas);

    /// <summary>Every achievable share below 100% for the replica budget.</summary>
    public static IReadOnlyList<ReplicaPlan> Achievable(int stableReplicas, CapacityMode mode) => mode == CapacityMode.KeepStable
        ? Enumerable.Range(0, stableReplicas * 99 + 1).Select(c => new ReplicaPlan(stableReplicas, c)).TakeWhile(p => p.CanaryPercent < 99.0001).ToList()
        : Enumerable.Range(0, stableReplicas).Select(c => new ReplicaPlan(stableReplicas - c, c)).ToList();

    /// <summary>The plan nearest to <paramref name="percent"/>; fails when a non-zero share is below the minimum.</summary>
    public static ReplicaPlan Plan(double percent, int stableReplicas, CapacityMode mode, bool baseline = false)
    {
        if (baseline) return PlanWithBaseline(percent, stableReplicas, mode);
        if (double.IsNaN(percent) || percent < 0 || percent >= 100)
            throw new TrafficRoutingException("WeightOutOfRange",
                $"weight {percent.ToString(CultureInfo.InvariantCulture)} is not possible without a mesh: use 0 to under 100 (promotion moves the rest)");
        if (stableReplicas < 1)
            throw new TrafficRoutingException("NoStableReplicas", "the stable Deployment has no replicas; a replica ratio cannot be formed");
        if (percent == 0) return new ReplicaPlan(stableReplicas, 0);
        var min = MinimumPercent(stableReplicas, mode);
        if (percent < min * 0.5)
        {
            var at50 = MinimumPercent(50, mode);
            throw new TrafficRoutingException("WeightBelowReplicaMinimum",
                $"a {percent.ToString("0.###", CultureInfo.InvariantCulture)}% canary is not possible with {stableReplicas} stable replicas and no mesh: " +
                $"the smallest share is one canary pod, about {min:0.#}% (1/{(mode == CapacityMode.KeepStable ? stableReplicas + 1 : stableReplicas)}). " +
                $"Use a mesh (Istio, Linkerd) for finer weights, or more replicas (at 50 replicas it would be about {at50:0.#}%).");
        }
        if (mode == CapacityMode.KeepTotal)
        {
            var c = Math.Clamp((int)Math.Round(stableReplicas * percent / 100), 1, stableReplicas - 1 < 1 ? 1 : stableReplicas - 1);
            return new ReplicaPlan(stableReplicas - c, c);
        }
        // Nc/(Nc+Ns) = p  =>  Nc = p·Ns/(1-p)
        var nc = Math.Max(1, (int)Math.Round(percent * stableReplicas / (100 - percent)));
        return new ReplicaPlan(stableReplicas, nc);
    }

    /// <summary>Canary and baseline get the same number of pods; stable keeps (or is left with) the rest.</summary>
    private static ReplicaPlan PlanWithBaseline(double percent, int stableReplicas, CapacityMode mode)
    {
        if (double.IsNaN(percent) || percent < 0 || percent >= 50)
            throw new TrafficRoutingException("WeightOutOfRange",
                $"weight {percent.ToString(CultureInfo.InvariantCulture)} is not possible without a mesh and with a created baseline: canary and baseline each get that share, so use 0 to under 50");
        if (stableReplicas < 1)
            throw new TrafficRoutingException("NoStableReplicas", "the stable Deployment has no replicas; a replica ratio cannot be formed");
        if (percent == 0) return new ReplicaPlan(stableReplicas, 0, 0);
        if (mode == CapacityMode.KeepTotal && stableReplicas < 3)
            throw new TrafficRoutingException("WeightBelowReplicaMinimum",
                $"capacity keepTotal with a created baseline needs at least 3 stable replicas (one each for canary and baseline, one left for stable); there are {stableReplicas}");
        var min = MinimumPercent(stableReplicas, mode, baseline: true);
        if (percent < min * 0.5)
            throw new TrafficRoutingException("WeightBelowReplicaMinimum",
                $"a {percent.ToString("0.###", CultureInfo.InvariantCulture)}% canary is not possible with {stableReplicas} stable replicas, a created baseline and no mesh: " +
                $"the smallest share is one canary pod and one baseline pod, about {min:0.#}% each. Use a mesh (Istio, Linkerd) for finer weights, or more replicas.");
        if (mode == CapacityMode.KeepTotal)
        {
            var c = Math.Clamp((int)Math.Round(stableReplicas * percent / 100), 1, (stableReplicas - 1) / 2);
            return new ReplicaPlan(stableReplicas - 2 * c, c, c);
        }
        // Nc/(Ns+2Nc) = p  =>  Nc = p·Ns/(1-2p)
        var nc = Math.Max(1, (int)Math.Round(percent * stableReplicas / (100 - 2 * percent)));
        return new ReplicaPlan(stableReplicas, nc, nc);
    }
}
