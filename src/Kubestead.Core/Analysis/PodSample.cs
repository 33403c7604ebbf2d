namespace Kubestead.Analysis;

/// <summary>What one pod of a version served in one window (its series differenced on their own).</summary>
public sealed record PodSample(string Pod, long Requests, long Failures);
