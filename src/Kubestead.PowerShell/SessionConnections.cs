using System.Management.Automation.Runspaces;
using System.Runtime.CompilerServices;
using Kubestead.Rollouts;
using Kubestead.Rollouts.Engine;

namespace Kubestead.PowerShell;

/// <summary>
/// The cluster connection a PowerShell session keeps between cmdlets: the parsed kubeconfig, the credentials and the
/// HTTP client with its open TLS connection, so a second cmdlet does not read the kubeconfig, load certificates and
/// shake hands again. One per runspace (cmdlets of one runspace never call Core at the same time); it is used only
/// while its <see cref="ConnectionKey"/> still matches, and a replaced connection is disposed once no cmdlet holds it.
/// Closing the runspace disposes it.
/// </summary>
internal sealed class SessionConnections
{
    // Cmdlets get no object that lives as long as their session, so the session's connection hangs off its runspace
    // (and goes with it), as the completion cache does.
    private static readonly ConditionalWeakTable<Runspace, SessionConnections> PerRunspace = new();

    private readonly object _gate = new();
    private Entry? _current;

    public static SessionConnections For(Runspace runspace) => PerRunspace.GetValue(runspace, r =>
    {
        var connections = new SessionConnections();
        r.StateChanged += (_, e) =>
        {
            if (e.RunspaceStateInfo.State is RunspaceState.Closed or RunspaceState.Broken) connections.Close();
        };
        return connections;
    });

    /// <summary>Connects, or reuses the session's connection when <paramref name="key"/> is the one it was made with.</summary>
    public async Task<Lease> AcquireAsync(ConnectionKey key, Func<IRolloutObserver, Task<IKubesteadService>> connect)
    {
        Entry? retired = null;
        lock (_gate)
        {
            if (_current is { } kept && kept.Key == key)
            {
                kept.Users++;
                return new Lease(this, kept);
            }
            retired = Retire();
        }
        DisposeIfUnused(retired);
        var router = new RoutingObserver();
        var entry = new Entry(key, await connect(router).ConfigureAwait(false), router) { Users = 1 };
        lock (_gate)
        {
            // Another caller may have connected meanwhile (not from this runspace's pipeline thread, but be safe).
            retired = Retire();
            _current = entry;
        }
        DisposeIfUnused(retired);
        return new Lease(this, entry);
    }

    private Entry? Retire()
    {
        var old = _current;
        _current = null;
        if (old is not null) old.Retired = true;
        return old;
    }

    private void Release(Entry entry)
    {
        bool dispose;
        lock (_gate) dispose = --entry.Users == 0 && entry.Retired;
        if (dispose) DisposeQuietly(entry);
    }

    private void Close()
    {
        Entry? retired;
        lock (_gate) retired = Retire();
        DisposeIfUnused(retired);
    }

    private void DisposeIfUnused(Entry? entry)
    {
        bool dispose;
        lock (_gate) dispose = entry is { Users: 0 };
        if (dispose) DisposeQuietly(entry!);
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

    internal sealed class Entry(ConnectionKey? key, IKubesteadService service, RoutingObserver router)
    {
        public ConnectionKey? Key { get; } = key;
        public IKubesteadService Service { get; } = service;
        public RoutingObserver Router { get; } = router;
        public int Users { get; set; }
        public bool Retired { get; set; }
    }

    /// <summary>One cmdlet's use of the connection; events go to <see cref="Route"/>'s target until it is released.</summary>
    internal sealed class Lease(SessionConnections? owner, Entry entry) : IDisposable
    {
        private int _released;

        /// <summary>A connection no session keeps: releasing it disposes it.</summary>
        public static Lease Unshared(IKubesteadService service) => new(null, new Entry(null, service, new RoutingObserver()) { Users = 1 });

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
