namespace Kubestead.PowerShell;

/// <summary>One session's recent completion lookups, per target, each kept for a short life (empty answers too).</summary>
internal sealed class CompletionCache(TimeProvider clock, TimeSpan life)
{
    private readonly object _gate = new();
    private readonly Dictionary<CompletionTarget, (DateTimeOffset At, IReadOnlyList<string> Names)> _entries = [];

    public IReadOnlyList<string>? TryGet(CompletionTarget target)
    {
        lock (_gate)
            return _entries.TryGetValue(target, out var e) && clock.GetUtcNow() - e.At < life ? e.Names : null;
    }

    public void Put(CompletionTarget target, IReadOnlyList<string> names)
    {
        lock (_gate)
        {
            var now = clock.GetUtcNow();
            // Only a few targets are ever typed in one session; dropping the stale ones keeps it that small.
            foreach (var stale in _entries.Where(e => now - e.Value.At >= life).Select(e => e.Key).ToList()) _entries.Remove(stale);
            if (!_entries.ContainsKey(target)) _entries[target] = (now, names);
        }
    }
}
