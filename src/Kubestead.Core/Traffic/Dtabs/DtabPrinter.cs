using System.Globalization;
using System.Text;

namespace Kubestead.Traffic.Dtabs;

/// <summary>
/// Canonical text for dentries and name trees: <c>/svc/users => 99 * /env/prod/users &amp; 1 * /env/prod/users-v2</c>.
/// Weights print as plain decimals (never an exponent, which Finagle's parser does not read); brackets only where the
/// grammar needs them (an alternation inside a union).
/// </summary>
public static class DtabPrinter
{
    public static string Print(Dentry d) => $"{d.Prefix} => {Print(d.Destination)}";

    public static string Print(NameTree tree)
    {
        var sb = new StringBuilder();
        Append(sb, tree, Parent.None);
        return sb.ToString();
    }

    public static string Weight(double w) => ((decimal)w).ToString(CultureInfo.InvariantCulture);

    private enum Parent { None, Alt, Union }

    private static void Append(StringBuilder sb, NameTree tree, Parent parent)
    {
        switch (tree)
        {
            case NameTree.Leaf l: sb.Append(l.Path); break;
            case NameTree.Fail: sb.Append('!'); break;
            case NameTree.Neg: sb.Append('~'); break;
            case NameTree.Empty: sb.Append('$'); break;
            case NameTree.Alt a:
                // A nested alternation keeps its brackets, so the tree reads back with the same shape.
                if (parent != Parent.None) sb.Append('(');
                for (var i = 0; i < a.Trees.Count; i++)
                {
                    if (i > 0) sb.Append(" | ");
                    Append(sb, a.Trees[i], Parent.Alt);
                }
                if (parent != Parent.None) sb.Append(')');
                break;
            case NameTree.Union u:
                // '&' binds tighter than '|': a union needs brackets only inside another union.
                if (parent == Parent.Union) sb.Append('(');
                for (var i = 0; i < u.Trees.Count; i++)
                {
                    if (i > 0) sb.Append(" & ");
                    sb.Append(Weight(u.Trees[i].Weight)).Append(" * ");
                    Append(sb, u.Trees[i].Tree, Parent.Union);
                }
                if (parent == Parent.Union) sb.Append(')');
                break;
        }
    }
}
