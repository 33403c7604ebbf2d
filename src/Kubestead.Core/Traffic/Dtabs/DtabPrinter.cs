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

    /// <summary>
    /// The shortest text that reads back as the same double, written out without an exponent. Not through
    /// <c>decimal</c>: it overflows from 7.9e28, turns weights below 1e-28 into 0 and keeps only 15 significant digits.
    /// </summary>
    public static string Weight(double w)
    {
        if (!double.IsFinite(w) || w < 0)
            throw new ArgumentOutOfRangeException(nameof(w), w, "a dtab weight is a finite number of at least 0");
        var roundTrip = w.ToString("R", CultureInfo.InvariantCulture);
        var e = roundTrip.IndexOfAny(['E', 'e']);
        if (e < 0) return roundTrip;
        var mantissa = roundTrip[..e];
        var exponent = int.Parse(roundTrip[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        var point = mantissa.IndexOf('.', StringComparison.Ordinal);
        var digits = mantissa.Replace(".", "", StringComparison.Ordinal);
        var at = (point < 0 ? mantissa.Length : point) + exponent;
        if (at <= 0) return "0." + new string('0', -at) + digits;
        return at >= digits.Length ? digits + new string('0', at - digits.Length) : digits[..at] + "." + digits[at..];
    }

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
