namespace Kubestead.Bench.CanarySim;

/// <summary>Argo Rollouts AnalysisTemplate: a measurement every 5 minutes, successCondition result >= 0.95 (NaN for no
/// requests fails), failureLimit 3 (the analysis fails when failed measurements exceed 3); six measurements in 30 minutes.</summary>
public sealed class ArgoPolicy(int tickSeconds) : IPolicy
{
    private readonly int _ticksPerMeasurement = Math.Max(1, 300 / tickSeconds);
    private int _ticks, _nc, _xc, _failed, _measurements;

    public string Name => "argo";

    public Decision? OnTick(Tick t)
    {
        _nc += t.Nc;
        _xc += t.Xc;
        if (++_ticks < _ticksPerMeasurement) return null;
        var ok = _nc > 0 && (double)(_nc - _xc) / _nc >= 0.95;
        _ticks = _nc = _xc = 0;
        _measurements++;
        if (!ok && ++_failed > 3) return Decision.Rollback;
        return _measurements >= 6 ? Decision.Promote : null;
    }
}
