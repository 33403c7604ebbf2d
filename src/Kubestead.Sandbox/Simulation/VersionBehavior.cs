namespace Kubestead.Sandbox.Simulation;

/// <summary>
/// How one version answers: an error rate and a lognormal latency, optionally changing at a point in time
/// (a fault that starts late) and different during a warm-up after the version first receives traffic.
/// </summary>
public sealed record VersionBehavior(
    double ErrorRate,
    double LatencyMedianMs = 50,
    double LatencySigma = 0.5,
    TimeSpan? FaultOnset = null,
    double? ErrorRateAfterOnset = null,
    double LatencyMultiplierAfterOnset = 1.0,
    TimeSpan WarmUp = default,
    double? WarmUpErrorRate = null)
{
    /// <summary>Error rate and latency median at <paramref name="sinceStart"/> into the simulation.</summary>
    public (double ErrorRate, double MedianMs) At(TimeSpan sinceStart)
    {
        if (sinceStart < WarmUp && WarmUpErrorRate is { } w) return (w, LatencyMedianMs);
        if (FaultOnset is { } onset && sinceStart >= onset)
            return (ErrorRateAfterOnset ?? ErrorRate, LatencyMedianMs * LatencyMultiplierAfterOnset);
        return (ErrorRate, LatencyMedianMs);
    }
}

public enum SimulatedRouting
{
    /// <summary>Each request picks the canary with probability w (Envoy weighted clusters, the Linkerd proxy).</summary>
    Random,
    /// <summary>Deterministic weighted round robin (Traefik).</summary>
    RoundRobin,
    /// <summary>No mesh: client connections stick to a pod chosen uniformly among ready pods.</summary>
    Pods,
}

/// <summary>The simulated service: arrival rate, routing, each version's behaviour, client connections for pod routing.</summary>
public sealed record TrafficProfile(
    double RequestsPerSecond,
    SimulatedRouting Routing,
    VersionBehavior Stable,
    VersionBehavior Canary,
    int ClientConnections = 20,
    TimeSpan ConnectionLifetime = default,
    int Seed = 1);
