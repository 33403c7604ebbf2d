using Kubestead.Rollouts.Engine;
using Kubestead.Rollouts.State;
using Kubestead.Specs;

namespace Kubestead.LoadTests;

/// <summary>
/// A drive's load test: it watches the engine's events on their way to <paramref name="inner"/> and runs the generator
/// while the rollout is progressing through an analysis step (from <c>analysis.startingStep</c> on), the only time its
/// windows are judged. Disposing it (the end of the drive, on every path: done, paused, cancelled, Lease lost) stops the
/// generator and awaits it, so nothing of the load test outlives the command that drove the rollout.
/// </summary>
public sealed class LoadTestSession : IRolloutObserver, IAsyncDisposable
{
    private readonly object _gate = new();
    private readonly ILoadGenerator _generator;
    private readonly RolloutSpec _spec;
    private readonly LoadTestSpec? _loadTest;
    private readonly IRolloutObserver _inner;
    private readonly TimeProvider _clock;
    private readonly List<Task<LoadTestTally>> _runs = new();
    private CancellationTokenSource? _running;
    private int _step;
    private bool _progressing;

    public LoadTestSession(ILoadGenerator generator, RolloutSpec spec, RolloutStatus status, IRolloutObserver inner, TimeProvider clock)
    {
        _generator = generator;
        _spec = spec;
        _loadTest = spec.Analysis?.LoadTest;
        _inner = inner;
        _clock = clock;
        _step = status.StepIndex;
        _progressing = status.Phase == RolloutPhase.Progressing;
        Update();
    }

    /// <summary>Whether the generator is sending now.</summary>
    public bool Running
    {
        get
        {
            lock (_gate) return _running is not null;
        }
    }

    public void OnEvent(RolloutEvent e)
    {
        _inner.OnEvent(e);
        if (_loadTest is null) return;
        lock (_gate)
        {
            switch (e)
            {
                case StepStartedEvent s:
                    _step = s.StepIndex;
                    break;
                case PhaseChangedEvent p:
                    _progressing = p.Phase == RolloutPhase.Progressing;
                    break;
                default:
                    return;
            }
        }
        Update();
    }

    private bool Wanted => _progressing && _step >= (_spec.Analysis?.StartingStep ?? 0)
        && _step < _spec.Steps.Count && _spec.Steps[_step] is AnalysisStepSpec;

    private void Update()
    {
        if (_loadTest is not { } lt) return;
        string? said = null;
        lock (_gate)
        {
            if (Wanted && _running is null)
            {
                _running = new CancellationTokenSource();
                var token = _running.Token;
                // Called inline, so a generator starts at this instant of the rollout's clock (the sandbox's jumps at the
                // engine's next wait); generators that do real work yield first (HttpLoadGenerator).
                _runs.Add(_generator.RunAsync(new LoadTestRun(_spec.Namespace, _spec.Name, lt), token));
                said = $"load test started: {lt.RequestsPerSecond:0.##} requests/s to {UrlRedaction.Redact(lt.Url)} marked {lt.MarkerHeader}: {_spec.Name}, judged as <metric>{LoadTestEvidence.Suffix}";
            }
            else if (!Wanted && _running is { } cts)
            {
                cts.Cancel();
                cts.Dispose();
                _running = null;
                said = "load test stopped (the step is not an analysis step)";
            }
        }
        if (said is not null) _inner.OnEvent(new VerboseEvent(_clock.GetUtcNow(), _spec.Namespace, _spec.Name, said));
    }

    /// <summary>Stops the generator and waits for every run of this drive, in-flight requests included.</summary>
    public async ValueTask DisposeAsync()
    {
        Task<LoadTestTally>[] runs;
        lock (_gate)
        {
            _progressing = false;
            if (_running is { } cts)
            {
                cts.Cancel();
                cts.Dispose();
                _running = null;
            }
            runs = _runs.ToArray();
        }
        if (runs.Length == 0) return;
        var total = LoadTestTally.None;
        foreach (var run in runs)
        {
            try
            {
                total = total.Plus(await run.ConfigureAwait(false));
            }
            catch (Exception e)
            {
                // A generator's fault must not hide the drive's own outcome; it is reported, the rollout judged on what the metrics saw.
                _inner.OnEvent(new WarningEvent(_clock.GetUtcNow(), _spec.Namespace, _spec.Name, $"load test failed: {UrlRedaction.Redact(e.Message)}"));
            }
        }
        _inner.OnEvent(new VerboseEvent(_clock.GetUtcNow(), _spec.Namespace, _spec.Name,
            $"load test ended: {total.Sent} requests sent, {total.Answered} answered ({total.ServerErrors} with 5xx), {total.Unanswered} unanswered"));
    }
}
