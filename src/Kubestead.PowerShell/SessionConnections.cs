using System.Management.Automation.Runspaces;
using System.Runtime.CompilerServices;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;

namespace Kubestead.PowerShell;

/// <summary>
/// The cluster connections a PowerShell session keeps between cmdlets: the parsed kubeconfig, the credentials and the
/// HTTP client with its open TLS connection, so a second cmdlet does not read the kubeconfig, load certificates and
/// shake hands again. Up to <see cref="Capacity"/> per runspace, the least recently used dropped first, so a session
/// that alternates between a few contexts or namespaces does not reconnect at each switch (cmdlets of one runspace never
/// call Core at the same time). A connection is used only while its <see cref="ConnectionKey"/> still matches and the
/// certificate files its context names are unchanged; a dropped or outdated one is disposed once no cmdlet holds it.
/// Closing the runspace or removing the module disposes them all.
/// </summary>
internal sealed class SessionConnections
{
    /// <summary>A few contexts (dev, staging, prod) and namespaces; each kept one is an idle socket and a parsed config.</summary>
    internal const int Capacity = 4;

    // Cmdlets get no object that lives as long as their session, so the session's connections hang off its runspace
    // (and go with it), as the completion cache does.
    private static readonly ConditionalWeakTable<Runspace, SessionConnections> PerRunspace = new();

    private readonly object _gate = new();

    /// <summary>Most recently used first.</summary>
    private readonly List<Entry> _kept = [];

    public static SessionConnections For(Runspace runspace) => PerRunspace.GetValue(runspace, r =>
    {
        var connections = new SessionConnections();
        r.StateChanged += (_, e) =>
        {
            if (e.RunspaceStateInfo.State is RunspaceState.Closed or RunspaceState.Broken) connections.Close();
        };
        return connections;
    });

    /// <summary>
    /// Disposes what <paramref name="runspace"/> keeps (the module is being removed): the assembly stays loaded after
    /// Remove-Module, so without this its sockets stayed open until the runspace closed.
    /// </summary>
    public static void CloseFor(Runspace runspace)
    {
        if (PerRunspace.TryGetValue(runspace, out var connections)) connections.Close();
    }

    /// <summary>Connects, or reuses the connection made with <paramref name="key"/> whose certificate files are unchanged.</summary>
    public async Task<Lease> AcquireAsync(ConnectionKey key, Func<IRolloutObserver, Task<Connected>> connect)
    {
        List<Entry> retired;
        lock (_gate)
        {
            if (_kept.Find(e => e.Key == key) is { } kept && kept.CredentialStamp == ConnectionKey.Stamp(kept.CredentialFiles))
            {
                _kept.Remove(kept);
                _kept.Insert(0, kept);
                kept.Users++;
                return new Lease(this, kept);
            }
            // What this key replaces (itself with rotated certificates, or the same source before its kubeconfig changed)
            // can never match again.
            retired = RetireWhere(e => e.Key is { } old && old.SameSourceAs(key));
        }
        DisposeUnused(retired);
        var router = new RoutingObserver();
        var connected = await connect(router).ConfigureAwait(false);
        var entry = new Entry(key, connected.Service, router, connected.CredentialFiles, ConnectionKey.Stamp(connected.CredentialFiles)) { Users = 1 };
        lock (_gate)
        {
            // Another caller may have connected meanwhile (not from this runspace's pipeline thread, but be safe).
            retired = RetireWhere(e => e.Key == key);
            _kept.Insert(0, entry);
            if (_kept.Count > Capacity)
            {
                var leastRecent = _kept[^1];
                retired.AddRange(RetireWhere(e => ReferenceEquals(e, leastRecent)));
            }
        }
        DisposeUnused(retired);
        return new Lease(this, entry);
    }

    /// <summary>Removes the matching kept connections (caller holds the gate); they are disposed when unused.</summary>
    private List<Entry> RetireWhere(Predicate<Entry> match)
    {
        var retired = _kept.FindAll(match);
        foreach (var e in retired)
        {
            e.Retired = true;
            _kept.Remove(e);
        }
        return retired;
    }

    private void Release(Entry entry)
    {
        bool dispose;
        lock (_gate) dispose = --entry.Users == 0 && entry.Retired;
        if (dispose) DisposeQuietly(entry);
    }

    private void Close()
    {
        List<Entry> retired;
        lock (_gate) retired = RetireWhere(_ => true);
        DisposeUnused(retired);
    }

    private void DisposeUnused(List<Entry> entries)
    {
        List<Entry> unused;
        lock (_gate) unused = entries.FindAll(e => e.Users == 0);
        foreach (var e in unused) DisposeQuietly(e);
    }

    private static void DisposeQuietly(Entry entry)
    {
        try
        {
            entry.Service.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(30));
        }
        catch (AggregateException)
        {
            // Disposal is best effort; the connection holds no cluster state.
        }
    }

    /// <summary>A new connection and the certificate files it read (<see cref="Kubernetes.ClusterConnection.CredentialFiles"/>).</summary>
    internal sealed record Connected(IKubesteadService Service, IReadOnlyList<string> CredentialFiles);

    internal sealed class Entry(ConnectionKey? key, IKubesteadService service, RoutingObserver router, IReadOnlyList<string> credentialFiles, string credentialStamp)
    {
        public ConnectionKey? Key { get; } = key;
        public IKubesteadService Service { get; } = service;
        public RoutingObserver Router { get; } = router;
        public IReadOnlyList<string> CredentialFiles { get; } = credentialFiles;
        public string CredentialStamp { get; } = credentialStamp;
        public int Users { get; set; }
        public bool Retired { get; set; }
    }

    /// <summary>One cmdlet's use of the connection; events go to <see cref="Route"/>'s target until it is released.</summary>
    internal sealed class Lease(SessionConnections? owner, Entry entry) : IDisposable
    {
        private int _released;

        /// <summary>A connection no session keeps: releasing it disposes it.</summary>
        public static Lease Unshared(IKubesteadService service) => new(null, new Entry(null, service, new RoutingObserver(), [], "") { Users = 1 });

        public IKubesteadService Service => entry.Service;

        public void Route(IRolloutObserver? target) => entry.Router.Target = target;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 1) return;
            if (owner is null) DisposeQuietly(entry);
            else owner.Release(entry);
        }
    }
}
