using System.Text.Json.Nodes;
using Kubestead.Kubernetes;

namespace Kubestead.Traffic;

/// <summary>
/// Shifts traffic between stable and canary through one mesh (or replica counts). Everything above the routers is
/// mesh-agnostic. Every method validates before it writes; a failed validation writes nothing. Weight changes are
/// one write each and are read back.
/// </summary>
public interface ITrafficRouter
{
    string Provider { get; }

    /// <summary>The smallest non-zero canary share and the step between achievable shares.</summary>
    Task<RoutingPrecision> GetPrecisionAsync(CancellationToken ct = default);

    /// <summary>Checks every object the router will touch; throws <see cref="TrafficRoutingException"/> naming object and field.</summary>
    Task ValidateAsync(CancellationToken ct = default);

    /// <summary>Creates what the rollout needs (canary Service, route objects, ownership annotations); idempotent.</summary>
    Task PrepareAsync(CancellationToken ct = default);

    Task<TrafficSplit> GetSplitAsync(CancellationToken ct = default);

    Task<TrafficSplit> SetCanaryWeightAsync(double percent, CancellationToken ct = default);

    Task SetHeaderRouteAsync(HeaderRoute route, CancellationToken ct = default);

    Task RemoveHeaderRouteAsync(string name, CancellationToken ct = default);

    /// <summary>Removes what <see cref="PrepareAsync"/> created, header routes and ownership annotations; idempotent.</summary>
    Task CleanupAsync(CancellationToken ct = default);

    /// <summary>The writes <see cref="SetCanaryWeightAsync"/> would make (the dry run).</summary>
    Task<IReadOnlyList<PlannedWrite>> PlanSetCanaryWeightAsync(double percent, CancellationToken ct = default);

    /// <summary>
    /// Null when the route still says what Kubestead last wrote and every object or part Kubestead added (canary and
    /// baseline Services, a created route, added backends or subsets, the header routes in <paramref name="headerRoutes"/>)
    /// is still there; otherwise what differs or is gone.
    /// </summary>
    Task<DriftReport?> DetectDriftAsync(TrafficSplit lastWritten, IReadOnlyCollection<string>? headerRoutes = null, CancellationToken ct = default);
}

public sealed record BackendWeight(string Backend, double Weight);

/// <summary>The split in percent of plain traffic, the raw backend weights, and where it was read.</summary>
public sealed record TrafficSplit(double StablePercent, double CanaryPercent, IReadOnlyList<BackendWeight> Backends, string Source);

public sealed record RoutingPrecision(double MinCanaryPercent, double StepPercent, string Explanation);

/// <summary>How a header route matches; <see cref="Cookie"/> matches a cookie by name (routers that cannot route by cookie refuse it).</summary>
public enum HeaderMatchKind { Exact, Prefix, Regex, Cookie }

public sealed record HeaderMatch(string Name, string Value, HeaderMatchKind Kind = HeaderMatchKind.Exact);

/// <summary>
/// Requests to send to the canary whatever the weight: all of <see cref="Matches"/> hold, and when <see cref="Cookie"/> is
/// set, the request also carries that cookie. Routers without regex header matching refuse a cookie match.
/// </summary>
public sealed record HeaderRoute(string Name, IReadOnlyList<HeaderMatch> Matches, CookieMatch? Cookie = null)
{
    public static HeaderRoute Default(string name) => new(name, [new HeaderMatch("x-canary", "true")]);

    /// <summary>The header matches a mesh with regex header matching writes: <see cref="Matches"/>, then the cookie as a regex on the cookie header.</summary>
    public IReadOnlyList<HeaderMatch> HeaderMatches =>
        Cookie is { } c ? [.. Matches, new HeaderMatch(CookieMatch.Header, c.HeaderRegex, HeaderMatchKind.Regex)] : Matches;

    /// <summary>How the route matches, for messages: "x-canary: true" or "cookie canary=always".</summary>
    public string Describe() => string.Join(", ", Matches.Select(m => $"{m.Name}: {m.Value}")
        .Concat(Cookie is { } c ? [$"cookie {c.Name}{(c.IsRegex ? " matching " : "=")}{c.Value}"] : []));
}

public sealed record PlannedWrite(ObjectReference Target, string Verb, string? ContentType, JsonNode? Body, string Description);

public sealed record FieldDrift(string Path, string? Expected, string? Actual);

/// <param name="TrafficAtRisk">
/// Some weight goes to something that no longer exists (a removed subset or Service): requests on it fail until the
/// traffic is moved, so the driver sends it back to stable before it pauses.
/// </param>
public sealed record DriftReport(ObjectReference Target, IReadOnlyList<FieldDrift> Fields, string? GitOpsController, bool TrafficAtRisk = false);

/// <summary>A routing request that cannot be honoured, or a route object that does not fit; nothing was written.</summary>
public sealed class TrafficRoutingException(string errorId, string message, ObjectReference? target = null, KubesteadErrorKind kind = KubesteadErrorKind.InvalidInput)
    : KubesteadException(errorId, kind, message, target?.ToString())
{
    public ObjectReference? Object { get; } = target;
}
