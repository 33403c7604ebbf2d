namespace Kubestead.Bench.CanarySim;

/// <summary>A weight change at a time: the weight schedule of a cell (before the first step the cell's weight holds).</summary>
public sealed class WeightStep
{
    public double AtSeconds { get; set; }
    public double Weight { get; set; }
}

/// <summary>
/// How failures arrive around the canary, beyond independent failures at a fixed rate (issue #18): per-pod failure rates
/// that vary from period to period (a gamma multiplier with mean 1 and coefficient of variation <see cref="RateCv"/>),
/// failures in same-pod bursts (retry storms; geometric sizes with mean <see cref="BurstMean"/>), outages that raise the
/// failure rate on both sides at once, and a weight schedule whose steps may fall inside an analysis window. The default
/// (all off) is the iid model of CANARY-SIM v1, drawn exactly as before, so existing scenario files give the same numbers.
/// </summary>
public sealed class EnvironmentSpec
{
    public string Name { get; set; } = "iid";
    public double RateCv { get; set; }
    public double RatePeriodSeconds { get; set; } = 60;

    /// <summary>
    /// Persistent pod rate states (issue #29 item 1; 0: off, rates redrawn for all pods at once every
    /// <see cref="RatePeriodSeconds"/>): each pod keeps its multiplier (CV <see cref="RateCv"/>) for a log-uniform random
    /// duration between these bounds, from a random phase (see <see cref="PodRateStates"/>).
    /// </summary>
    public double RateStateMinSeconds { get; set; }

    public double RateStateMaxSeconds { get; set; }

    public bool HasRateStates => RateStateMaxSeconds > 0;

    /// <summary>Pod counts for this environment (null: the scenario's), so one file can hold one to three canary pods among ten.</summary>
    public int? PodsStable { get; set; }

    public int? PodsCanary { get; set; }
    public double BurstMean { get; set; } = 1;
    public double OutageEverySeconds { get; set; }
    public double OutageSeconds { get; set; } = 60;
    public double OutageMultiplier { get; set; } = 10;
    public List<WeightStep> WeightSteps { get; set; } = new();

    /// <summary>
    /// Set to false to let Kubestead's analysis windows run across weight changes, as the engine did before issue #18
    /// (to measure what aligning the windows buys).
    /// </summary>
    public bool WindowsEndAtWeightChanges { get; set; } = true;

    /// <summary>
    /// An outage on both sides starts with each weight change (a route write makes the proxies drain and reconnect, so
    /// both versions fail more for a while): the straddling case of issue #18's audit.
    /// </summary>
    public bool OutageAtWeightChanges { get; set; }

    /// <summary>A second metric with its own failure stream (at p0 on both sides; faults hit the first metric only).</summary>
    public bool SecondMetric { get; set; }

    /// <summary>Counts come from scraped per-pod counters (null: exact counts per window).</summary>
    public ScrapeSpec? Scrape { get; set; }

    public bool IsIid => RateCv <= 0 && BurstMean <= 1 && OutageEverySeconds <= 0 && !OutageAtWeightChanges;
}
