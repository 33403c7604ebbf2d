namespace Kubestead.Traffic.Dtabs;

/// <summary>
/// The destination side of a dentry, as Finagle reads it: a path, an alternation (<c>a | b</c>, first that binds wins),
/// a weighted union (<c>3 * a &amp; 1 * b</c>, load-balanced by relative weight) or one of the constants
/// <c>!</c> (fail), <c>~</c> (neg) and <c>$</c> (empty).
/// </summary>
public abstract record NameTree
{
    public sealed record Leaf(string Path) : NameTree;

    public sealed record Alt(IReadOnlyList<NameTree> Trees) : NameTree
    {
        public bool Equals(Alt? other) => other is not null && Trees.SequenceEqual(other.Trees);
        public override int GetHashCode() => Trees.Count;
    }

    public sealed record Union(IReadOnlyList<Weighted> Trees) : NameTree
    {
        public bool Equals(Union? other) => other is not null && Trees.SequenceEqual(other.Trees);
        public override int GetHashCode() => Trees.Count;
    }

    public sealed record Fail : NameTree;

    public sealed record Neg : NameTree;

    public sealed record Empty : NameTree;
}

/// <summary>One branch of a weighted union; Finagle's default weight is 1.</summary>
public sealed record Weighted(double Weight, NameTree Tree);
