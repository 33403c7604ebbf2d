using System.Text.Json.Nodes;

namespace Kubestead.Analysis;

/// <summary>
/// An experiment (issue #29, off by default and not adopted): the Fail test's null from each canary pod's predicted
/// persistent state given that pod's own past counts, in place of the fixed two-sigma band of <see cref="PodPersistence"/>.
/// <para>
/// Model, under H0 "canary pods behave like the control's pods": pod i's rate against the control's pooled rate is
/// p·s_i, with s_i a persistent state of mean 1 and variance v (the control's learned upper bound on φ², plus the
/// control's own average's share φ²/K). Its prior is a gamma of shape and rate 1/v; each window adds the pod's failures
/// to the shape and its expected count n·p (p the control's pooled rate in the same window) to the rate, and old
/// evidence decays by e^(−Δt/τ), so the posterior drifts back to the prior at the persistence time scale τ. Everything
/// is computed from windows strictly before the one it is used for, so the bet it sets is still predictable. Where pods
/// are alike v is small, the prior dominates and D stays at 1 (no band cost); where a pod sits high for minutes D follows it.
/// </para>
/// <para>
/// Why it is off: it is valid only if the model holds, and a pod whose state has just changed is not predictable from its
/// past; with the simulator's 30 s to 10 minute states it aborted up to 19.5% of A/A rollouts (one CV 1.0 canary pod at
/// 50% weight; bench/results/issue-29-predictive.md, which also gives the argument and where it is approximate).
/// </para>
/// </summary>
public sealed class CanaryPodFilter
{
    private readonly double _persistenceSeconds;
    private readonly Dictionary<string, PodEvidence> _pods = new(StringComparer.Ordinal);

    /// <param name="persistenceSeconds">τ: the time over which a pod's past counts stop telling about its state.</param>
    public CanaryPodFilter(double persistenceSeconds)
    {
        if (!(persistenceSeconds > 0) || double.IsInfinity(persistenceSeconds))
            throw new ArgumentOutOfRangeException(nameof(persistenceSeconds), persistenceSeconds, "the persistence time must be positive and finite");
        _persistenceSeconds = persistenceSeconds;
    }

    /// <summary>
    /// The factor D by which the canary's exposure widens for the next window of <paramref name="seconds"/>, given its
    /// failure total <paramref name="failures"/> (m, canary and control together): the null share E[θ(S) | m, past] with S
    /// the canary's request-weighted mean state, turned back into an exposure factor. S's predictive law is a mixture: with
    /// probability e^(−Δt/τ) the pods keep their states (the posterior from their counts), else they drew new ones (the
    /// prior). Why given m and with the prior's share: the bet stakes more where m is large, and a large m is itself evidence
    /// that a pod has just moved high, which the posterior alone cannot know (measured: the posterior's mean alone aborted 51%
    /// of A/A rollouts with one CV 1.0 pod at 50% weight, this construction 19.5%). <paramref name="canaryExpected"/> and
    /// <paramref name="controlExpected"/> are the window's expected failures at state 1 under the null (ρ0·n_c·p, n_s·p),
    /// p from earlier windows. 1 where <paramref name="variance"/> is 0.
    /// </summary>
    public double Allowance(IReadOnlyList<PodSample> pods, double variance, long failures, double canaryExpected, double controlExpected, double seconds)
    {
        if (!(variance > 0) || !(canaryExpected > 0) || !(controlExpected > 0)) return 1;
        var requests = pods.Sum(p => Math.Max(0, p.Requests));
        if (requests <= 0) return 1;
        // S = Σ w_i s_i (w_i the pods' request shares), each s_i gamma(prior + failures, prior + expected): S is taken as the
        // gamma with the same mean and variance; after a change, the same with the prior alone.
        var prior = 1 / variance;
        double mean = 0, spread = 0, priorSpread = 0;
        foreach (var pod in pods)
        {
            if (pod.Requests <= 0) continue;
            var w = (double)pod.Requests / requests;
            var (shape, rate) = _pods.TryGetValue(pod.Pod, out var e) ? (prior + e.Failures, prior + e.Expected) : (prior, prior);
            mean += w * shape / rate;
            spread += w * w * shape / (rate * rate);
            priorSpread += w * w / prior;
        }
        var keep = Math.Exp(-Math.Max(0, seconds) / _persistenceSeconds);
        var share = NullShare(new Gamma(mean * mean / spread, mean / spread), new Gamma(1 / priorSpread, 1 / priorSpread), keep,
            Math.Max(0, failures), canaryExpected, controlExpected);
        // θ = D·μc/(D·μc + μs) solved for D; never below 1: a null above the model's is still valid (only slower), and a pod
        // seen low whose state then changes is the model's weakest point.
        return Math.Max(1, share / (1 - share) * controlExpected / canaryExpected);
    }

    /// <summary>
    /// E[μc·S/(μc·S + μs) | m] for S a priori <paramref name="kept"/> with probability <paramref name="keep"/>, else
    /// <paramref name="fresh"/>, and m failures in the window (Poisson with mean μc·S + μs), by quadrature on a log grid of S.
    /// </summary>
    private static double NullShare(Gamma kept, Gamma fresh, double keep, long m, double canaryExpected, double controlExpected)
    {
        var low = Math.Log(Math.Min(kept.Mean, fresh.Mean) * 1e-4);
        var high = Math.Log(Math.Max(kept.Mean + 12 * kept.Sd, fresh.Mean + 12 * fresh.Sd));
        Span<double> logWeights = stackalloc double[GridPoints];
        Span<double> shares = stackalloc double[GridPoints];
        var max = double.NegativeInfinity;
        var (logKeep, logChange) = (Math.Log(keep), keep < 1 ? Math.Log(1 - keep) : double.NegativeInfinity);
        for (var j = 0; j < GridPoints; j++)
        {
            var logS = low + (high - low) * (j + 0.5) / GridPoints;
            var s = Math.Exp(logS);
            var canary = canaryExpected * s;
            // The mixture's density × the Poisson likelihood of m × the log grid's Jacobian (ds = s·d ln s).
            var density = LogSumExp(logKeep + kept.LogDensity(s, logS), logChange + fresh.LogDensity(s, logS));
            logWeights[j] = density + logS + m * Math.Log(canary + controlExpected) - canary;
            shares[j] = canary / (canary + controlExpected);
            max = Math.Max(max, logWeights[j]);
        }
        double total = 0, weighted = 0;
        for (var j = 0; j < GridPoints; j++)
        {
            var w = Math.Exp(logWeights[j] - max);
            total += w;
            weighted += w * shares[j];
        }
        return weighted / total;
    }

    private static double LogSumExp(double a, double b) =>
        double.IsNegativeInfinity(a) && double.IsNegativeInfinity(b) ? a : Math.Max(a, b) + Math.Log(1 + Math.Exp(-Math.Abs(a - b)));

    /// <summary>A gamma law by shape and rate.</summary>
    private readonly record struct Gamma(double Shape, double Rate)
    {
        public double Mean => Shape / Rate;

        public double Sd => Math.Sqrt(Shape) / Rate;

        public double LogDensity(double s, double logS) => Shape * Math.Log(Rate) - LogGamma(Shape) + (Shape - 1) * logS - Rate * s;
    }

    /// <summary>ln Γ(x) for x &gt; 0 (Lanczos, g = 7): the mixture's two densities need their normalising constants.</summary>
    private static double LogGamma(double x)
    {
        if (x < 0.5) return Math.Log(Math.PI / Math.Sin(Math.PI * x)) - LogGamma(1 - x);
        x -= 1;
        var a = Lanczos[0];
        var t = x + 7.5;
        for (var i = 1; i < Lanczos.Length; i++) a += Lanczos[i] / (x + i);
        return 0.5 * Math.Log(2 * Math.PI) + (x + 0.5) * Math.Log(t) - t + Math.Log(a);
    }

    private static readonly double[] Lanczos =
    [
        0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
        12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
    ];

    private const int GridPoints = 240;

    /// <summary>
    /// The control's failure rate over every window learned so far (history and rollout; 0 before any failure): the scale
    /// of the expected counts, from windows before the one it is used for.
    /// </summary>
    public double ControlRate => _controlRequests > 0 ? _controlFailures / _controlRequests : 0;

    /// <summary>A window of the control's history: only the control's rate is learned (the canary did not exist yet).</summary>
    public void LearnControl(long requests, long failures)
    {
        _controlRequests += Math.Max(0, requests);
        _controlFailures += Math.Max(0, failures);
    }

    /// <summary>
    /// Adds one rollout window (after the window's bets are placed): the canary's evidence decays by
    /// e^(−<paramref name="seconds"/>/τ), then each canary pod's failures and its expected count at the control's pooled
    /// rate in the same window are added. Without control failures in the window it only decays.
    /// </summary>
    public void Learn(IReadOnlyList<PodSample>? pods, long controlRequests, long controlFailures, double seconds)
    {
        LearnControl(controlRequests, controlFailures);
        var keep = Math.Exp(-Math.Max(0, seconds) / _persistenceSeconds);
        foreach (var key in _pods.Keys.ToList())
            _pods[key] = new PodEvidence(_pods[key].Failures * keep, _pods[key].Expected * keep);
        if (pods is null || controlRequests <= 0 || controlFailures <= 0) return;
        var controlRate = (double)controlFailures / controlRequests;
        foreach (var pod in pods)
        {
            if (pod.Requests <= 0) continue;
            var before = _pods.TryGetValue(pod.Pod, out var e) ? e : new PodEvidence(0, 0);
            _pods[pod.Pod] = new PodEvidence(before.Failures + Math.Max(0, pod.Failures), before.Expected + pod.Requests * controlRate);
        }
    }

    /// <summary>Per canary pod [decayed failures, decayed expected failures], and the control's totals.</summary>
    public JsonObject Save()
    {
        var pods = new JsonObject();
        foreach (var (pod, e) in _pods) pods[pod] = new JsonArray(e.Failures, e.Expected);
        return new JsonObject { ["pods"] = pods, ["controlRequests"] = _controlRequests, ["controlFailures"] = _controlFailures };
    }

    /// <summary>Restores <see cref="Save"/>'s form; a state without it starts from the prior (every pod at 1).</summary>
    public void Restore(JsonObject? state)
    {
        _pods.Clear();
        _controlRequests = state?["controlRequests"]?.GetValue<double>() ?? 0;
        _controlFailures = state?["controlFailures"]?.GetValue<double>() ?? 0;
        if (state?["pods"] is not JsonObject pods) return;
        foreach (var (pod, node) in pods)
            if (node is JsonArray { Count: 2 } a)
                _pods[pod] = new PodEvidence(a[0]!.GetValue<double>(), a[1]!.GetValue<double>());
    }

    private double _controlRequests;
    private double _controlFailures;

    private readonly record struct PodEvidence(double Failures, double Expected);
}
