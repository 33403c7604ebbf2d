using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Running;
using Kubestead.Analysis;

namespace Kubestead.Bench.Judges;

/// <summary>
/// How long a judge takes to take in one window and to give a verdict, and what it allocates: the cost of evaluating
/// at every scrape for many rollouts. Run: dotnet run -c Release --project bench/Kubestead.Bench.Judges -- --job short
/// </summary>
[MemoryDiagnoser]
public class JudgeBenchmarks
{
    private readonly MetricWindow _window = new(default, default, new VersionSample(500, 1), new VersionSample(9500, 9));
    private readonly MetricWindow _latencyWindow = new(default, default,
        new VersionSample(500, 1, new LatencyHistogram([50, 100, 250, 500, double.PositiveInfinity], [250, 450, 495, 499, 500])),
        new VersionSample(9500, 9, new LatencyHistogram([50, 100, 250, 500, double.PositiveInfinity], [4750, 8550, 9405, 9490, 9500])));
    private SequentialErrorRateJudge _sequential = null!;
    private SequentialLatencyJudge _latency = null!;
    private ThresholdJudge _threshold = null!;

    [GlobalSetup]
    public void Setup()
    {
        _sequential = new SequentialErrorRateJudge("errors");
        _latency = new SequentialLatencyJudge("latency", thresholdMs: 250);
        _threshold = new ThresholdJudge("errors", 99, 500);
        for (var i = 0; i < 100; i++)
        {
            _sequential.Observe(_window);
            _latency.Observe(_latencyWindow);
        }
    }

    [Benchmark(Description = "sequential error-rate: update")]
    public void SequentialUpdate() => _sequential.Observe(_window);

    [Benchmark(Description = "sequential error-rate: evaluate")]
    public Verdict SequentialEvaluate() => _sequential.Evaluate();

    [Benchmark(Description = "sequential latency: update")]
    public void LatencyUpdate() => _latency.Observe(_latencyWindow);

    [Benchmark(Description = "threshold: update + evaluate")]
    public Verdict Threshold()
    {
        _threshold.Observe(_window);
        return _threshold.Evaluate();
    }

    [Benchmark(Description = "sequential: save + restore state")]
    public void SaveRestore() => _sequential.RestoreState(_sequential.SaveState());
}

public static class Program
{
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
