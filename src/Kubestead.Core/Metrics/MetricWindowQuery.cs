using Kubestead.Analysis;

namespace Kubestead.Metrics;

/// <summary>Reads one window of counts per version for one metric: the port every provider serves and the analysis reads.</summary>
public delegate Task<MetricWindow> MetricWindowQuery(DateTimeOffset start, DateTimeOffset end, CancellationToken ct);
