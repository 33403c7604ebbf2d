namespace Kubestead.Traffic.Dtabs;

/// <summary>A dentry and where its text stands in the dtab (<see cref="Start"/> inclusive, <see cref="End"/> exclusive, comments and spacing around it excluded).</summary>
public sealed record DtabEntry(int Start, int End, Dentry Dentry);
