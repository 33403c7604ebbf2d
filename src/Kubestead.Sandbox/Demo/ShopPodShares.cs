namespace Kubestead.Sandbox.Demo;

/// <summary>The share of plain requests the pods of each shop version receive (from 0 to 1; they sum to 1 while any pod is ready).</summary>
public sealed record ShopPodShares(double Stable, double Canary, double Baseline);
