using Kubestead.Specs;

namespace Kubestead.Metrics;

/// <summary>
/// A metrics backend at run time: for a metric whose spec block it reads (<see cref="Kind"/>), the query that returns
/// one window's counts per version (stable, canary, baseline). Its spec block and validation live beside it (an
/// <see cref="IMetricProviderBlock"/>), so adding a backend adds a folder under Metrics/, not a branch in the engine.
/// </summary>
public interface IMetricProvider
{
    /// <summary>The key under a metric's <c>provider:</c> that selects this provider (and <see cref="MetricProviderSpec.Kind"/>).</summary>
    string Kind { get; }

    /// <summary>The window query for <paramref name="metric"/> of <paramref name="spec"/>; failures surface when it is called.</summary>
    MetricWindowQuery Open(RolloutSpec spec, MetricSpec metric);
}
