namespace Kubestead.Traffic.Dtabs;

/// <summary>A namespace's dtab text and the opaque version namerd sends as its ETag (and expects back in If-Match).</summary>
public sealed record VersionedDtab(string Text, string Version);
