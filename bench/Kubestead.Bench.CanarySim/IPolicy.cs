namespace Kubestead.Bench.CanarySim;

/// <summary>A judging policy fed tick by tick; returns a decision once it has one.</summary>
public interface IPolicy
{
    string Name { get; }

    /// <summary>The canary weight the policy has set for the next tick; null when the cell's weight holds (static cells).</summary>
    double? Weight => null;

    Decision? OnTick(Tick tick);
}
