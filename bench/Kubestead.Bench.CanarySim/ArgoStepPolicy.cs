namespace Kubestead.Bench.CanarySim;

/// <summary>
/// Argo Rollouts with canary steps and a background AnalysisRun: the steps are <c>setWeight</c> plus a pause (an
/// analysis step of a schedule becomes a 5-minute pause, one measurement; a pause step keeps its duration; Argo's steps
/// do not advance on metrics); the background analysis measures every 5 minutes from the start (success rate >= 0.95,
/// NaN fails) and aborts when failed measurements exceed failureLimit 3; after the last step, promotion.
/// </summary>
public sealed class ArgoStepPolicy(IReadOnlyList<ScheduleStep> steps, int tickSeconds) : IPolicy
{
    private readonly int _ticksPerMeasurement = Math.Max(1, 300 / tickSeconds);
    private int _ticks, _nc, _xc, _failed, _step;
    private double _stepElapsed;

    public string Name => "argo";

    public double? Weight => steps[_step].Weight;

    public Decision? OnTick(Tick t)
    {
        _nc += t.Nc;
        _xc += t.Xc;
        _stepElapsed += tickSeconds;
        if (++_ticks >= _ticksPerMeasurement)
        {
            var ok = _nc > 0 && (double)(_nc - _xc) / _nc >= 0.95;
            _ticks = _nc = _xc = 0;
            if (!ok && ++_failed > 3) return Decision.Rollback;
        }
        if (_stepElapsed < (steps[_step].PauseSeconds ?? 300) - 1e-9) return null;
        if (_step == steps.Count - 1) return Decision.Promote;
        _step++;
        _stepElapsed = 0;
        return null;
    }
}
