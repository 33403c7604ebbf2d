namespace Kubestead.Traffic.Dtabs;

/// <summary>
/// One delegation rule: names starting with <see cref="Prefix"/> (labels, or <c>*</c> for any one label) are rewritten
/// to <see cref="Destination"/>. In a dtab the last matching dentry is tried first.
/// </summary>
public sealed record Dentry(string Prefix, NameTree Destination)
{
    public override string ToString() => DtabPrinter.Print(this);
}
