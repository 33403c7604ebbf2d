using System.Globalization;
using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Traffic.Dtabs;

namespace Kubestead.Traffic;

public sealed record Linkerd1RouterOptions(
    string Namespace,
    string Rollout,
    string Service,
    string CanaryService,
    IReadOnlyDictionary<string, string> CanaryPodLabels,
    Uri Namerd,
    string DtabNamespace,
    string Prefix,
    string StableDestination,
    string CanaryDestination)
{
    /// <summary>Stable's Deployment; when set, validation checks that the stable Service selects its pods and no canary pod.</summary>
    public string? StableDeployment { get; init; }
}

/// <summary>
/// Linkerd 1.x through a dtab stored in namerd: Kubestead owns one dentry, <c>prefix => S * stable &amp; C * canary</c>,
/// added last (so it takes precedence over the dentries before it), its weights changed step by step and removed at
/// the end. Every other dentry, their order, comments and spacing are left as they are. Every write is one
/// compare-and-set on namerd's version; when another writer got there first (412) the dtab is read again, checked
/// again and the change re-applied. Header routes are per request: testers send an <c>l5d-dtab</c> header, so
/// nothing is written for them.
/// </summary>
public sealed class Linkerd1Router(IKubernetesApi api, NamerdClient namerd, Linkerd1RouterOptions options) : ITrafficRouter, IHeaderRouteInstructions
{
    private const int Attempts = 5;
    private readonly CanaryService _canaryService = new(api, options.Namespace, options.Rollout, options.Service, options.CanaryService, options.CanaryPodLabels,
        stableDeployment: options.StableDeployment);

    public static readonly ResourceType DtabType = new("namerd.linkerd.io", "v1", "dtabs", "Dtab", Namespaced: false);

    public string Provider => "linkerd1";

    private ObjectReference DtabRef => new(DtabType, null, options.DtabNamespace);

    private string Source => $"dtab namespace '{options.DtabNamespace}' at {UrlRedaction.Redact(namerd.Address)}";

    public Task<RoutingPrecision> GetPrecisionAsync(CancellationToken ct = default) =>
        Task.FromResult(new RoutingPrecision(0.01, 0.01, "dtab union weights are relative: shares down to 0.01%"));

    public async Task ValidateAsync(CancellationToken ct = default)
    {
        await _canaryService.ValidateAsync(ct).ConfigureAwait(false);
        var doc = await ReadAsync(ct).ConfigureAwait(false);
        Check(doc.Document);
        if (!doc.Document.Entries.Any(e => Covers(e.Dentry.Prefix, options.Prefix)))
            throw new TrafficRoutingException("DtabPrefixAbsent",
                $"spec.linkerd1.prefix: no dentry in {Source} routes '{options.Prefix}' (none has that prefix or a shorter one); " +
                "Kubestead shifts traffic that namerd already routes, it does not create the route", DtabRef, KubesteadErrorKind.InvalidState);
        // namerd resolves the stable destination to spec.service's endpoints: a selector that also matches the canary's
        // pods would hand them part of the stable share (issue #25).
        await _canaryService.ValidateStableSelectionAsync(ct).ConfigureAwait(false);
    }

    public async Task PrepareAsync(CancellationToken ct = default)
    {
        await _canaryService.EnsureAsync(ct).ConfigureAwait(false);
        await UpdateAsync(doc => Ours(doc) is null ? doc.Append(Build(0)) : doc, ct).ConfigureAwait(false);
    }

    public async Task<TrafficSplit> GetSplitAsync(CancellationToken ct = default) => Read((await ReadAsync(ct).ConfigureAwait(false)).Document);

    public async Task<TrafficSplit> SetCanaryWeightAsync(double percent, CancellationToken ct = default)
    {
        var dentry = Build(percent);
        await UpdateAsync(doc => Ours(doc) is { } i ? doc.Replace(i, dentry) : doc.Append(dentry), ct).ConfigureAwait(false);
        return await GetSplitAsync(ct).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<PlannedWrite>> PlanSetCanaryWeightAsync(double percent, CancellationToken ct = default)
    {
        var dentry = Build(percent);
        var (doc, version) = await ReadAsync(ct).ConfigureAwait(false);
        Check(doc);
        var next = Ours(doc) is { } i ? doc.Replace(i, dentry) : doc.Append(dentry);
        if (next.Text == doc.Text) return [];
        return [new PlannedWrite(DtabRef, "put", NamerdClient.DtabMediaType, JsonValue.Create(next.Text),
            $"PUT {UrlRedaction.Redact(namerd.Address)}api/1/dtabs/{options.DtabNamespace} (If-Match: {version}): the dentry '{DtabPrinter.Print(dentry)}' " +
            $"(canary {percent.ToString("0.###", CultureInfo.InvariantCulture)}%); every other dentry unchanged")];
    }

    public Task SetHeaderRouteAsync(HeaderRoute route, CancellationToken ct = default) => Task.CompletedTask;

    public Task RemoveHeaderRouteAsync(string name, CancellationToken ct = default) => Task.CompletedTask;

    public string HeaderRouteInstructions(HeaderRoute route) =>
        $"nothing is written for header routes on Linkerd 1.x: send the header 'l5d-dtab: {HeaderValue}' to reach the canary";

    public KeyValuePair<string, string> ClientHeader(HeaderRoute route) => new("l5d-dtab", HeaderValue);

    public string? IgnoredMatch(HeaderRoute route) => route.Cookie is null && route.Matches.SequenceEqual(HeaderRoute.Default(route.Name).Matches)
        ? null
        : $"header route '{route.Name}': the match {route.Describe()} does not apply on Linkerd 1.x; requests reach the canary only by carrying 'l5d-dtab: {HeaderValue}'";

    /// <summary>The per-request dtab override testers send: it is appended to the router's dtab for that request only.</summary>
    public string HeaderValue => $"{options.Prefix} => {options.CanaryDestination}";

    public async Task CleanupAsync(CancellationToken ct = default)
    {
        try
        {
            await UpdateAsync(doc => Ours(doc) is { } i ? doc.Remove(i) : doc, ct, check: false).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NamerdException { IsNotFound: true } or TrafficRoutingException { ErrorId: "DtabNamespaceNotFound" })
        {
            // The namespace is gone, and our dentry with it.
        }
        await _canaryService.DeleteIfCreatedAsync(ct).ConfigureAwait(false);
    }

    public async Task<DriftReport?> DetectDriftAsync(TrafficSplit lastWritten, IReadOnlyCollection<string>? headerRoutes = null, CancellationToken ct = default)
    {
        if (await AddedObjectDrift.ServiceAsync(api, options.Namespace, options.CanaryService, ct).ConfigureAwait(false) is { } gone) return gone;
        var doc = (await ReadAsync(ct).ConfigureAwait(false)).Document;
        var expected = DtabPrinter.Print(Build(lastWritten.CanaryPercent));
        var fields = new List<FieldDrift>();
        if (Ours(doc) is not { } i)
            fields.Add(new FieldDrift($"dentry {options.Prefix}", expected, null));
        else
        {
            var now = Read(doc);
            if (Math.Abs(now.CanaryPercent - lastWritten.CanaryPercent) > 1e-6)
                fields.Add(new FieldDrift($"dentry {options.Prefix}", expected, DtabPrinter.Print(doc.Entries[i].Dentry)));
            // A dentry with the same prefix after ours is tried first: ours no longer decides.
            foreach (var later in doc.Entries.Skip(i + 1).Where(e => e.Dentry.Prefix == options.Prefix))
                fields.Add(new FieldDrift($"dentry {options.Prefix} (after Kubestead's, so it takes precedence)", null, DtabPrinter.Print(later.Dentry)));
        }
        return fields.Count == 0 ? null : new DriftReport(DtabRef, fields, null);
    }

    /// <summary>Kubestead's dentry for a canary share: integer relative weights, both destinations always present.</summary>
    internal Dentry Build(double percent) => Build(options.Prefix, options.StableDestination, options.CanaryDestination, percent);

    private static Dentry Build(string prefix, string stable, string canary, double percent)
    {
        var (s, c) = RelativeWeights.For(percent);
        return new Dentry(prefix, new NameTree.Union([
            new Weighted(s, new NameTree.Leaf(stable)),
            new Weighted(c, new NameTree.Leaf(canary)),
        ]));
    }

    /// <summary>The dentry text a weight step writes (for plans and dry runs).</summary>
    public static string DescribeDentry(Kubestead.Specs.Linkerd1Settings settings, double percent) =>
        DtabPrinter.Print(Build(settings.Prefix, settings.StableDestination, settings.CanaryDestination, percent));

    /// <summary>The index of Kubestead's dentry: the last one with the prefix whose tree is a union of exactly stable and canary.</summary>
    internal int? Ours(DtabDocument doc)
    {
        for (var i = doc.Entries.Count - 1; i >= 0; i--)
            if (IsOurs(doc.Entries[i].Dentry)) return i;
        return null;
    }

    private bool IsOurs(Dentry d) =>
        d.Prefix == options.Prefix && d.Destination is NameTree.Union { Trees.Count: 2 } u
        && u.Trees.Any(w => w.Tree is NameTree.Leaf l && l.Path == options.StableDestination)
        && u.Trees.Any(w => w.Tree is NameTree.Leaf l && l.Path == options.CanaryDestination);

    private TrafficSplit Read(DtabDocument doc)
    {
        if (Ours(doc) is not { } i)
            return new TrafficSplit(100, 0, [new BackendWeight(options.StableDestination, 1)], Source);
        var u = (NameTree.Union)doc.Entries[i].Dentry.Destination;
        var weights = u.Trees.Select(w => new BackendWeight(((NameTree.Leaf)w.Tree).Path, w.Weight)).ToList();
        var total = weights.Sum(w => w.Weight);
        double Share(string dst) => total <= 0 ? 0 : 100 * weights.Where(w => w.Backend == dst).Sum(w => w.Weight) / total;
        return new TrafficSplit(Share(options.StableDestination), Share(options.CanaryDestination), weights, Source);
    }

    /// <summary>
    /// Refuses a dtab in which a dentry with Kubestead's prefix sends traffic to the canary but is not Kubestead's
    /// shape: someone rewrote it by hand, and overwriting or appending past it would fight them.
    /// </summary>
    private void Check(DtabDocument doc)
    {
        foreach (var e in doc.Entries)
            if (e.Dentry.Prefix == options.Prefix && !IsOurs(e.Dentry) && Mentions(e.Dentry.Destination, options.CanaryDestination))
                throw new TrafficRoutingException("DtabDentryChanged",
                    $"{Source}: the dentry '{DtabPrinter.Print(e.Dentry)}' routes {options.Prefix} to the canary but is not " +
                    $"'{options.Prefix} => S * {options.StableDestination} & C * {options.CanaryDestination}'; nothing was written",
                    DtabRef, KubesteadErrorKind.InvalidState);
    }

    private static bool Mentions(NameTree t, string path) => t switch
    {
        NameTree.Leaf l => l.Path == path,
        NameTree.Alt a => a.Trees.Any(x => Mentions(x, path)),
        NameTree.Union u => u.Trees.Any(x => Mentions(x.Tree, path)),
        _ => false,
    };

    /// <summary>Whether a dentry prefix (labels or <c>*</c>) matches the start of <paramref name="path"/>.</summary>
    internal static bool Covers(string prefix, string path)
    {
        var p = prefix.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var q = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        return p.Length <= q.Length && p.Select((label, i) => label == "*" || label == q[i]).All(x => x);
    }

    private async Task<(DtabDocument Document, string Version)> ReadAsync(CancellationToken ct)
    {
        var v = await namerd.TryGetAsync(options.DtabNamespace, ct).ConfigureAwait(false)
                ?? throw new TrafficRoutingException("DtabNamespaceNotFound",
                    $"spec.linkerd1.namespace: namerd at {UrlRedaction.Redact(namerd.Address)} has no dtab namespace '{options.DtabNamespace}'", DtabRef, KubesteadErrorKind.InvalidState);
        try
        {
            return (DtabDocument.Parse(v.Text), v.Version);
        }
        catch (DtabSyntaxException e)
        {
            throw new TrafficRoutingException("DtabUnreadable", $"{Source}: the dtab is not valid dtab syntax ({e.Message}); nothing was written", DtabRef, KubesteadErrorKind.InvalidState);
        }
    }

    /// <summary>Read, check, change, compare-and-set; on a version conflict everything again from the read.</summary>
    private async Task UpdateAsync(Func<DtabDocument, DtabDocument> change, CancellationToken ct, bool check = true)
    {
        for (var attempt = 1; ; attempt++)
        {
            var (doc, version) = await ReadAsync(ct).ConfigureAwait(false);
            if (check) Check(doc);
            var next = change(doc);
            if (next.Text == doc.Text) return;
            try
            {
                await namerd.PutAsync(options.DtabNamespace, next.Text, version, ct).ConfigureAwait(false);
                return;
            }
            catch (NamerdException e) when (e.IsVersionConflict && attempt < Attempts)
            {
            }
            catch (NamerdException e) when (e.IsVersionConflict)
            {
                throw new TrafficRoutingException("DtabConflict",
                    $"{Source}: the dtab changed under every one of {Attempts} compare-and-set attempts; nothing was written", DtabRef, KubesteadErrorKind.Conflict);
            }
        }
    }
}
