using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Specs;
using Kubestead.Traffic;

namespace Kubestead.Rollouts;

/// <summary>Shapes a recorded rollout into what the cmdlets and the CLI show; reads nothing from the cluster.</summary>
public static class RolloutResultBuilder
{
    public static RolloutResult From(StoredRollout stored)
    {
        var s = stored.Status;
        string mesh = "?";
        int stepCount = 0;
        string? current = null;
        double? baseline = null;
        var parsed = RolloutSpecParser.Parse(stored.SpecYaml, stored.Name);
        if (parsed.Spec is { } spec)
        {
            mesh = spec.MeshProvider;
            if (spec.CreateBaseline) baseline = RolloutSpec.BaselineShare(s.CanaryWeight);
            var plan = RuntimeFactory.ToPlan(spec);
            stepCount = plan.Steps.Count;
            current = s.StepIndex < plan.Steps.Count ? plan.Steps[s.StepIndex].Describe() : null;
        }
        var driver = s.History.Count > 0 ? s.History[^1].Driver : null;
        return new RolloutResult(stored.Name, stored.Namespace, s.Phase, s.PauseReason, s.Message, mesh, s.StepIndex, stepCount, current,
            100 - s.CanaryWeight - (baseline ?? 0), s.CanaryWeight, s.LastVerdicts, s.History, s.StartedAt, s.UpdatedAt, s.FinishedAt, driver)
        {
            Timeline = s.Timeline,
            BaselineWeight = baseline,
            BackgroundVerdicts = s.BackgroundVerdicts,
            WarmingUp = s.WarmingUp && !s.Phase.IsTerminal(),
            WarmupUntil = s.WarmupUntil,
            WarmupWindows = s.WarmupWindows,
            WarmupFrom = s.WarmupFrom,
            WarmupAwaitingReady = s.WarmupAwaitingReady && !s.Phase.IsTerminal(),
            WarmupRestarts = s.WarmupRestarts,
            CleanupPending = s.Phase.IsTerminal() && !s.CleanupDone,
            CanaryRemovalDueAt = s.Phase.IsTerminal() && !s.CleanupDone ? s.CanaryRemovalDueAt : null,
        };
    }

    public static WeightReport WeightReport(StoredRollout stored, string mesh, TrafficSplit split)
    {
        var v = stored.Status.LastVerdicts.FirstOrDefault(x => x.CanaryRequests + x.ControlRequests > 0);
        double? observed = v is null ? null : 100.0 * v.CanaryRequests / (v.CanaryRequests + v.ControlRequests);
        return new WeightReport(stored.Name, stored.Namespace, mesh, split.StablePercent, split.CanaryPercent,
            split.Backends.Select(b => new BackendWeightInfo(b.Backend, b.Weight)).ToList(), split.Source, observed);
    }
}
