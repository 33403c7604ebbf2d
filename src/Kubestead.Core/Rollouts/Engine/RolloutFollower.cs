using Kubestead.Analysis;
using Kubestead.Rollouts.State;

namespace Kubestead.Rollouts.Engine;

/// <summary>
/// Reports a rollout that another live process drives, from its recorded state: each read is compared with the one
/// before, and every change is told as the events the driving process reported for it (steps begun, weights written,
/// verdicts, phase changes), so a watching <c>wait</c> prints what a driving one would. An unchanged state reports
/// nothing. It only reads what it is given: it never writes, so it can never fight the driver it watches.
/// </summary>
/// <param name="waitingEvery">How often the wait itself is reported (a progress line) while nothing else changes.</param>
internal sealed class RolloutFollower(IRolloutObserver observer, TimeProvider clock, TimeSpan waitingEvery)
{
    private (string Activity, DateTimeOffset At)? _lastWaiting;
    private RolloutStatus? _last;
    private RolloutPlan? _plan;
    private string? _planYaml;
    private string? _holder;
    private bool _toldStoppedRenewing;

    /// <summary>
    /// Says once per holder who drives the rollout and what this process does meanwhile; at the first look also where the
    /// rollout is (<see cref="Report"/>); and, as a driver reports its waits, where it waits.
    /// </summary>
    public void Locked(StoredRollout stored, RolloutLockedException locked, TimeSpan every)
    {
        var now = clock.GetUtcNow();
        if (_holder != locked.Holder)
        {
            _holder = locked.Holder;
            _toldStoppedRenewing = false;
            Emit(new VerboseEvent(now, stored.Namespace, stored.Name,
                $"rollout {stored.Name} is driven by {locked.Holder}: following its recorded state every {Specs.SpecDuration.Format(every)}; " +
                "this process drives it only if that driver stops renewing its lease"));
        }
        if (locked.HolderStoppedRenewing && !_toldStoppedRenewing)
        {
            _toldStoppedRenewing = true;
            Emit(new WarningEvent(now, stored.Namespace, stored.Name,
                $"lease {RolloutLease.ObjectName(stored.Name)} of {locked.Holder} is not being renewed: taking it over at {locked.ExpiresAt:u} unless it is renewed before"));
        }
        if (_last is null) Report(stored);
        var s = stored.Status;
        var count = Plan(stored).Steps.Count;
        var where = s.Phase == RolloutPhase.Progressing && s.StepIndex < count ? $"step {s.StepIndex + 1}/{count}" : s.Phase.ToString();
        var activity = $"{where}, driven by {locked.Holder}";
        // Looks come every few seconds; a line for each would bury the changes (and the cmdlets mirror waits to verbose).
        if (_lastWaiting is { } last && last.Activity == activity && now - last.At < waitingEvery) return;
        _lastWaiting = (activity, now);
        Emit(new WaitingEvent(now, stored.Namespace, stored.Name, activity,
            s.StepStartedAt is { } started && started <= now ? now - started : TimeSpan.Zero, null));
    }

    /// <summary>Reports what changed since the last read (on the first read: the step it is at and the split last written).</summary>
    public void Report(StoredRollout stored)
    {
        var now = clock.GetUtcNow();
        var s = stored.Status;
        var last = _last;
        _last = s;
        var steps = Plan(stored).Steps;
        if (last is null)
        {
            if (s.Phase == RolloutPhase.Progressing) StepsBegun(stored, steps, s.StepIndex, s.StepIndex, now);
            if (s.LastWritten is { } first) Emit(Weight(stored, first, now));
            return;
        }
        // In the order the driver acts: the verdicts decide, then the steps advance and move traffic, then the phase.
        foreach (var v in s.LastVerdicts.Where(v => !last.LastVerdicts.Contains(v)))
            Emit(new VerdictEvent(now, stored.Namespace, stored.Name, v));
        foreach (var v in s.BackgroundVerdicts.Where(v => !last.BackgroundVerdicts.Contains(v)))
            Emit(new BackgroundVerdictEvent(now, stored.Namespace, stored.Name, v));
        if (s.StepIndex != last.StepIndex && s.Phase is RolloutPhase.Progressing or RolloutPhase.Paused)
            StepsBegun(stored, steps, s.StepIndex > last.StepIndex ? last.StepIndex + 1 : s.StepIndex, s.StepIndex, now);
        if (s.LastWritten is { } written && written != last.LastWritten) Emit(Weight(stored, written, now));
        if (s.Phase != last.Phase || s.PauseReason != last.PauseReason)
        {
            Emit(new PhaseChangedEvent(now, stored.Namespace, stored.Name, s.Phase, s.PauseReason, s.Message));
            // As the driver warns of a pause nobody asked for.
            if (s is { Phase: RolloutPhase.Paused, PauseReason: { } reason } && reason != PauseReason.Manual)
                Emit(new WarningEvent(now, stored.Namespace, stored.Name, $"paused ({reason}): {s.Message}"));
        }
    }

    /// <summary>Every step from <paramref name="from"/> to <paramref name="to"/>: a driver may pass several between two reads.</summary>
    private void StepsBegun(StoredRollout stored, IReadOnlyList<PlanStep> steps, int from, int to, DateTimeOffset now)
    {
        for (var i = Math.Max(0, from); i <= to && i < steps.Count; i++)
            Emit(new StepStartedEvent(now, stored.Namespace, stored.Name, i, steps.Count, steps[i].Describe()));
    }

    private static WeightAppliedEvent Weight(StoredRollout stored, WrittenSplit split, DateTimeOffset now) =>
        new(now, stored.Namespace, stored.Name, split.StablePercent, split.CanaryPercent, $"written by {split.By}");

    private RolloutPlan Plan(StoredRollout stored)
    {
        if (_plan is null || _planYaml != stored.SpecYaml)
        {
            _plan = RuntimeFactory.ToPlan(stored.ParseSpec());
            _planYaml = stored.SpecYaml;
        }
        return _plan;
    }

    private void Emit(RolloutEvent e)
    {
        try
        {
            observer.OnEvent(e with { Followed = true });
        }
        catch (Exception)
        {
            // An observer must not throw; one that does must not stop the watch either.
        }
    }
}
