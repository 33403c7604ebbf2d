using Kubestead.Analysis;
using Kubestead.Metrics;
using Kubestead.Specs;

namespace Kubestead.Bench.CanarySim;

/// <summary>
/// The built-in engine <c>default</c> (issue #29 item 1): exactly what a spec without analysis settings gets. Its values
/// are read from the spec parser's own defaults for a metric with only a name and a provider, and its interval from the
/// drive's own resolution (<see cref="ScrapeIntervalDefault"/>) given the cell's scrape interval, as Prometheus would
/// report it: so the benchmark's headline engine cannot drift from the product's.
/// </summary>
public static class SpecDefaultVariant
{
    public const string Name = "default";

    /// <summary>The same engine with no history to learn from: a new workload, or a Prometheus that keeps none (issue #29).</summary>
    public const string NoHistoryName = "default-nohistory";

    /// <summary>
    /// Round 6's judge (issue #29): the Fail band alone, not narrowed for the failures a persistent state can hold, with
    /// the Fail bound's margin at 0.75 standard errors also once a history is learned.
    /// </summary>
    public const string BandName = "default-band";

    /// <summary>
    /// The experimental engine <c>default-noband</c> (and <c>default-noband-grid-...</c>): <c>default</c> whose Fail test
    /// bets against the control's rate, D = 1 (what the band costs; not valid under persistent pod effects).
    /// </summary>
    public const string NoBandPrefix = "default-noband";

    /// <summary>Prefix of the experimental engines <c>default-failsigmas-X</c>: the Fail bound on φ² at X standard errors.</summary>
    public const string FailSigmasPrefix = "default-failsigmas-";

    /// <summary>Prefix of the experimental engines <c>default-failz-X</c>: the Fail band at X log-sigmas once a history is learned.</summary>
    public const string FailZPrefix = "default-failz-";

    /// <summary>Prefix of the experimental engines <c>default-grid-R:W/R:W/...</c>: <c>default</c> with that Fail grid.</summary>
    public const string GridPrefix = "default-grid-";

    /// <summary>Prefix of the experimental engines <c>default-countaware-N</c>: <c>default</c> taking a persistent state to last N seconds.</summary>
    public const string CountAwarePrefix = "default-countaware-";

    /// <summary>Prefix of the experimental engines <c>default-lookback-N</c>: <c>default</c> with a look-back of N seconds.</summary>
    public const string LookbackPrefix = "default-lookback-";

    /// <summary>
    /// Prefix of the experimental engines <c>default-predictive</c> and <c>default-predictive-N</c>: <c>default</c> whose
    /// Fail null follows each canary pod's predicted state, forgetting over N seconds (<see cref="PredictiveSeconds"/>
    /// without N).
    /// </summary>
    public const string PredictivePrefix = "default-predictive";

    /// <summary>The persistence time <c>default-predictive</c> forgets over (the middle of the simulator's 30 s to 10 minute states).</summary>
    public const double PredictiveSeconds = 300;

    /// <summary>
    /// The look-back of the control's history a drive reads before the analysis begins (the spec's <c>analysis.lookback</c>
    /// default, 1 hour; issue #29, chosen from bench/results/issue-29-lookback.md).
    /// </summary>
    public static readonly double LookbackSeconds = Kubestead.Specs.AnalysisSpec.DefaultLookback.TotalSeconds;

    /// <summary>
    /// The engine a <c>default</c> name stands for (<c>default</c>, <c>default-nohistory</c>, <c>default-band</c> and the
    /// experiments by prefix, <c>default-noband-...</c> combining with the others) at the cell's scrape interval; null for
    /// any other name. A malformed number in a name throws, naming the engine.
    /// </summary>
    public static EngineVariant? TryCreate(string name, double? scrapeIntervalSeconds)
    {
        if (name != Name && !name.StartsWith(Name + "-", StringComparison.Ordinal)) return null;
        var engine = Create(scrapeIntervalSeconds);
        engine.Name = name;
        var rest = name;
        if (rest.StartsWith(NoBandPrefix, StringComparison.Ordinal))
        {
            engine.NoFailBand = true;
            // default-noband-grid-...: both levers at once.
            rest = Name + rest[NoBandPrefix.Length..];
        }
        if (rest == Name) return engine;
        if (rest == NoHistoryName) engine.LookbackSeconds = 0;
        else if (rest == BandName)
        {
            engine.CountAwareSeconds = null;
            engine.FailSigmas = PodPersistence.FailSigmas;
        }
        else if (rest.StartsWith(PredictivePrefix, StringComparison.Ordinal))
        {
            engine.PredictivePodSeconds = rest == PredictivePrefix
                ? PredictiveSeconds
                : NumberAfter(name, rest, PredictivePrefix + "-", tau => tau > 0, $"the persistence after '{PredictivePrefix}-' must be a positive number of seconds");
        }
        else if (rest.StartsWith(FailSigmasPrefix, StringComparison.Ordinal))
            engine.FailSigmas = NumberAfter(name, rest, FailSigmasPrefix, sigmas => sigmas >= 0, $"the standard errors after '{FailSigmasPrefix}' must be a number at least 0");
        else if (rest.StartsWith(FailZPrefix, StringComparison.Ordinal))
            engine.FailZ = NumberAfter(name, rest, FailZPrefix, z => z > 0, $"the log-sigmas after '{FailZPrefix}' must be a positive number");
        else if (rest.StartsWith(GridPrefix, StringComparison.Ordinal))
            engine.FailGrid = rest[GridPrefix.Length..].Split('/').Select(a =>
                a.Split(':') is [var ratio, var weight] && Number(ratio) is { } r && r > 1 && Number(weight) is { } w && w > 0
                    ? (r, w)
                    : throw new ArgumentException($"engine '{name}': each alternative after '{GridPrefix}' is ratio:weight, separated by '/'")).ToList();
        else if (rest.StartsWith(CountAwarePrefix, StringComparison.Ordinal))
            engine.CountAwareSeconds = NumberAfter(name, rest, CountAwarePrefix, horizon => horizon > 0, $"the state length after '{CountAwarePrefix}' must be a positive number of seconds");
        else if (rest.StartsWith(LookbackPrefix, StringComparison.Ordinal))
            engine.LookbackSeconds = NumberAfter(name, rest, LookbackPrefix, seconds => seconds >= 0, $"the look-back after '{LookbackPrefix}' must be a number of seconds");
        else return null;
        return engine;
    }

    /// <summary>The number after <paramref name="prefix"/> in an engine name, or an error naming the engine and <paramref name="expected"/>.</summary>
    private static double NumberAfter(string name, string rest, string prefix, Func<double, bool> valid, string expected) =>
        rest.StartsWith(prefix, StringComparison.Ordinal) && Number(rest[prefix.Length..]) is { } value && valid(value)
            ? value
            : throw new ArgumentException($"engine '{name}': {expected}");

    private static double? Number(string text) =>
        double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var value) ? value : null;

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

    /// <param name="scrapeIntervalSeconds">How often the cell's counters are scraped (what Prometheus's targets would
    /// report); null: a source that cannot say, where the drive keeps the parser's default.</param>
    public static EngineVariant Create(double? scrapeIntervalSeconds = null)
    {
        var analysis = Resolve(scrapeIntervalSeconds);
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
            LookbackSeconds = LookbackSeconds,
        };
    }

    /// <summary>The analysis settings a drive of the minimal spec runs with when its metrics are scraped this often.</summary>
    public static AnalysisSpec Resolve(double? scrapeIntervalSeconds)
    {
        var parsed = RolloutSpecParser.Parse(MinimalSpec);
        var spec = parsed.Spec ?? throw new InvalidOperationException("the minimal spec no longer parses: " + string.Join("; ", parsed.Problems));
        if (scrapeIntervalSeconds is not { } seconds) return spec.Analysis!;
        var source = new FixedScrapeInterval(TimeSpan.FromSeconds(seconds));
        MetricQueryFactory metrics = (_, _) => source.Query;
        // The drive's own code path (synchronous here: the source answers at once).
        var resolved = ScrapeIntervalDefault.ApplyAsync(spec, metrics, CancellationToken.None).GetAwaiter().GetResult();
        return resolved.Spec.Analysis!;
    }

    /// <summary>A metric source that reports one scrape interval, as Prometheus's /api/v1/targets would.</summary>
    private sealed class FixedScrapeInterval(TimeSpan interval) : IScrapeIntervalSource
    {
        public Task<ScrapeIntervalReading> ReadScrapeIntervalAsync(CancellationToken ct) =>
            Task.FromResult(new ScrapeIntervalReading(interval, "the cell's scrape interval"));

        public Task<MetricWindow> Query(DateTimeOffset start, DateTimeOffset end, CancellationToken ct) =>
            throw new InvalidOperationException("the benchmark reads its windows from the simulator, not from this source");
    }
}
