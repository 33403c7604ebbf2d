namespace Kubestead.Bench.CanarySim;

/// <summary>One version's requests and failures in one tick, pod by pod (index i is the version's i-th live pod).</summary>
public sealed record PodTickCounts(int[] Requests, int[] Failures);
