namespace Kubestead.Bench.CanarySim;

/// <summary>One version's per-pod counts of the current tick, reused from tick to tick (one allocation per replicate).</summary>
public sealed class PodCountBuffer(int pods)
{
    public int[] Requests { get; } = new int[pods];
    public int[] Failures { get; } = new int[pods];

    public void Clear(int pods)
    {
        Array.Clear(Requests, 0, pods);
        Array.Clear(Failures, 0, pods);
    }

    /// <summary>The first <paramref name="pods"/> pods' counts, as the scraped counters take them.</summary>
    public PodTickCounts Take(int pods) => pods == Requests.Length
        ? new PodTickCounts(Requests, Failures)
        : new PodTickCounts(Requests[..pods], Failures[..pods]);
}
