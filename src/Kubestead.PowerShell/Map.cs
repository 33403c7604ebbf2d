using Kubestead.Analysis;
using Kubestead.Rollouts;


namespace Kubestead.PowerShell;

/// <summary>Core results to pipeline types. Internal: Core's types never appear in a public signature of Kubestead.dll.</summary>
internal static class Map
{
    public static KubesteadRollout Rollout(RolloutResult r) => new()
    {
        Name = r.Name, Namespace = r.Namespace, Phase = r.Phase.ToString(), PauseReason = r.PauseReason?.ToString(), Message = r.Message,
        MeshProvider = r.MeshProvider, Step = Math.Min(r.StepIndex + 1, r.StepCount), StepCount = r.StepCount, CurrentStep = r.CurrentStep,
        StableWeight = r.StableWeight, CanaryWeight = r.CanaryWeight, BaselineWeight = r.BaselineWeight, Verdicts = r.Verdicts.Select(v => Verdict(v, r.Name, r.Namespace, StepScope)).ToArray(),
        History = r.History.Select(h => new KubesteadHistoryEntry { At = h.At, Kind = h.Kind, Message = h.Message, CanaryWeight = h.CanaryWeight, Driver = h.Driver }).ToArray(),
        StartedAt = r.StartedAt, UpdatedAt = r.UpdatedAt, FinishedAt = r.FinishedAt, Driver = r.Driver,
        LeaseHolder = r.Driving?.Holder, LastHeartbeat = r.Driving?.LastHeartbeat, NotDrivenSince = r.Driving?.NotDrivenSince, TimedOut = r.TimedOut,
        EffectiveCanaryShare = r.Effective?.CanaryPercent, CanaryReadyPods = r.Effective?.CanaryReadyPods, StableReadyPods = r.Effective?.StableReadyPods,
        AnalysisState = r.AnalysisState, WarmupUntil = r.WarmupUntil, WarmupFrom = r.WarmupFrom, WarmupAwaitingReady = r.WarmupAwaitingReady,
        WarmupWindows = r.WarmupWindows,
        BackgroundVerdicts = r.BackgroundVerdicts.Select(v => Verdict(v, r.Name, r.Namespace, BackgroundScope)).ToArray(),
        RequestHeaders = r.RequestHeaders is { } headers ? Headers(headers) : null,
    };

    private static System.Collections.Hashtable Headers(IReadOnlyDictionary<string, string> headers)
    {
        var table = new System.Collections.Hashtable(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in headers) table[name] = value;
        return table;
    }

    public static KubesteadRolloutHistoryRecord History(Reports.RolloutHistoryRow h) => new()
    {
        Name = h.Name, Namespace = h.Namespace, At = h.At, Kind = h.Kind, Message = h.Message, CanaryWeight = h.CanaryWeight, WindowStart = h.WindowStart,
        WindowsMerged = h.WindowsMerged, Metric = h.Metric, Judge = h.Judge, Outcome = h.Outcome, CanaryRequests = h.CanaryRequests,
        CanaryFailures = h.CanaryFailures, CanaryFailureRate = h.CanaryFailureRate, ControlRequests = h.ControlRequests, ControlFailures = h.ControlFailures,
        ControlFailureRate = h.ControlFailureRate, CanaryP95Ms = h.CanaryP95Ms, ControlP95Ms = h.ControlP95Ms, EValue = h.EValue, PassEValue = h.PassEValue,
        Threshold = h.Threshold, Driver = h.Driver,
    };

    public const string StepScope = "step";
    public const string BackgroundScope = "background";

    public static CanaryVerdict Verdict(Verdict v, string? name, string? ns, string? scope = null) => new()
    {
        Name = name, Namespace = ns, Metric = v.Metric, Judge = v.Judge, Scope = scope, Outcome = v.Outcome.ToString(), CanaryRequests = v.CanaryRequests,
        CanaryFailures = v.CanaryFailures, ControlRequests = v.ControlRequests, ControlFailures = v.ControlFailures, PValue = v.PValue, EValue = v.EValue,
        Effect = v.Effect, Summary = v.Summary,
    };

    public static CanaryWeight Weight(WeightReport w) => new()
    {
        Name = w.Name, Namespace = w.Namespace, MeshProvider = w.MeshProvider, StableWeight = w.StableWeight, CanaryWeightPercent = w.CanaryWeight,
        ObservedCanaryShare = w.ObservedCanaryShare, Source = w.Source, Backends = w.Backends.Select(b => $"{b.Backend}={b.Weight}").ToArray(),
    };

    public static CanarySplitPlan Plan(SplitPlanResult p) => new()
    {
        RequestedWeight = p.RequestedWeight, AchievableWeight = p.AchievableWeight, MinimumCanaryWeight = p.MinimumCanaryWeight, Precision = p.PrecisionExplanation,
        ExpectedCanaryRequests = p.ExpectedCanaryRequests, EmptyWindowProbability = p.EmptyWindowProbability, TimeToDetect = p.TimeToDetect,
        RequestsToPass = p.MinimumRequestsForPass, WindowsToPass = p.MinimumWindowsForPass, TimeToPassFloor = p.MinimumTimeForPass, BaselineWeight = p.BaselineWeight, PassPodBand = p.PassPodBand,
        Warnings = p.Warnings.ToArray(),
    };

    public static KubesteadCheck Check(SpecCheck c) => new() { Check = c.Check, Outcome = c.Outcome.ToString(), Message = c.Message, Target = c.Target };

    public static KubesteadGitOpsConfig GitOps(GitOpsConfigResult g) => new()
    {
        Name = g.Name, Namespace = g.Namespace, ArgoCdIgnoreDifferences = g.ArgoCdIgnoreDifferences, Flux = g.FluxGuidance, ManagedFields = g.ManagedFields.ToArray(),
    };

    public static KubesteadPlannedChange Change(PlannedChange c) => new() { Target = c.Target, Verb = c.Verb, Description = c.Description, Body = c.Body };
}
