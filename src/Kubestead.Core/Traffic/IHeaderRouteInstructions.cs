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
}
