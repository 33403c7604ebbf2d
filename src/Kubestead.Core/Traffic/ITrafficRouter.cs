using System.Text.Json.Nodes;
using Kubestead.Kubernetes;

namespace Kubestead.Traffic;

/// <summary>Shifts traffic between stable and canary through one mesh (or replica counts). Everything above is mesh-agnostic.</summary>
public interface ITrafficRouter
{
    string Provider { get; }
    Task<RoutingPrecision> GetPrecisionAsync(CancellationToken ct = default);
    Task ValidateAsync(CancellationToken ct = default);
    Task PrepareAsync(CancellationToken ct = default);
    Task<TrafficSplit> GetSplitAsync(CancellationToken ct = default);
    Task<TrafficSplit> SetCanaryWeightAsync(double percent, CancellationToken ct = default);
    Task SetHeaderRouteAsync(HeaderRoute route, CancellationToken ct = default);
    Task RemoveHeaderRouteAsync(string name, CancellationToken ct = default);
    Task CleanupAsync(CancellationToken ct = default);
    Task<IReadOnlyList<PlannedWrite>> PlanSetCanaryWeightAsync(double percent, CancellationToken ct = default);
    Task<DriftReport?> DetectDriftAsync(TrafficSplit lastWritten, CancellationToken ct = default);
}

public sealed record BackendWeight(string Backend, double Weight);
public sealed record TrafficSplit(double StablePercent, double CanaryPercent, IReadOnlyList<BackendWeight> Backends, string Source);
public sealed record RoutingPrecision(double MinCanaryPercent, double StepPercent, string Explanation);
public enum HeaderMatchKind { Exact, Prefix, Regex }
public sealed record HeaderMatch(string Name, string Value, HeaderMatchKind Kind = HeaderMatchKind.Exact);
public sealed record HeaderRoute(string Name, IReadOnlyList<HeaderMatch> Matches);
public sealed record PlannedWrite(ObjectReference Target, string Verb, string? ContentType, JsonNode? Body, string Description);
public sealed record FieldDrift(string Path, string? Expected, string? Actual);
public sealed record DriftReport(ObjectReference Target, IReadOnlyList<FieldDrift> Fields, string? GitOpsController);
