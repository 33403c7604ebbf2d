namespace Kubestead.Traffic;

/// <summary>
/// A router whose header routes are chosen by the client per request (Linkerd 1.x's <c>l5d-dtab</c> header) rather than
/// written to the mesh: it says what testers must send. The engine shows it where a header route is set.
/// </summary>
public interface IHeaderRouteInstructions
{
    string HeaderRouteInstructions(HeaderRoute route);

    /// <summary>The header (name and value) a client sends to reach the canary, e.g. <c>l5d-dtab</c>.</summary>
    KeyValuePair<string, string> ClientHeader(HeaderRoute route);

    /// <summary>
    /// Why the route's own match (a header other than the default x-canary: true, a cookie) does not apply, or null when
    /// it is the default: the client's header alone decides, so a match the user asked for would silently mean nothing.
    /// </summary>
    string? IgnoredMatch(HeaderRoute route);
}
