namespace Kubestead.Traffic.Dtabs;

/// <summary>
/// A dtab as text plus its parsed dentries. Edits change one dentry's span and nothing else, so every other dentry,
/// their order, the comments and the spacing stay byte-for-byte. Each edit re-parses its result.
/// </summary>
public sealed class DtabDocument
{
    internal DtabDocument(string text, IReadOnlyList<DtabEntry> entries)
    {
        Text = text;
        Entries = entries;
    }

    public string Text { get; }

    public IReadOnlyList<DtabEntry> Entries { get; }

    public static DtabDocument Parse(string text) => DtabParser.ParseDocument(text);

    /// <summary>The dentries in canonical form, one per line (what a namerd that stores parsed dtabs would hand back, modulo spacing).</summary>
    public string Canonical() => string.Concat(Entries.Select(e => DtabPrinter.Print(e.Dentry) + ";\n"));

    public DtabDocument Replace(int index, Dentry dentry)
    {
        var e = Entries[index];
        return Parse(Text[..e.Start] + DtabPrinter.Print(dentry) + Text[e.End..]);
    }

    /// <summary>Adds the dentry last (where it takes precedence), on a line of its own.</summary>
    public DtabDocument Append(Dentry dentry)
    {
        var text = Text;
        if (Entries.Count > 0 && !FollowedBySemicolon(Entries[^1]))
            text = text[..Entries[^1].End] + ";" + text[Entries[^1].End..];
        if (text.Length > 0 && !text.EndsWith('\n')) text += "\n";
        return Parse(text + DtabPrinter.Print(dentry) + ";\n");
    }

    /// <summary>Removes the dentry, its ';' and the rest of its line when nothing else stands there.</summary>
    public DtabDocument Remove(int index)
    {
        var e = Entries[index];
        var end = e.End;
        var i = SkipSpaces(end);
        if (i < Text.Length && Text[i] == ';')
        {
            end = i + 1;
            var j = SkipSpaces(end);
            if (j < Text.Length && Text[j] == '\n') end = j + 1;
            else if (j == Text.Length) end = j;
        }
        var start = e.Start;
        // Take the line's indentation too when the dentry started its line.
        var k = start;
        while (k > 0 && Text[k - 1] is ' ' or '\t') k--;
        if ((k == 0 || Text[k - 1] == '\n') && (end == Text.Length || Text[end - 1] == '\n')) start = k;
        return Parse(Text[..start] + Text[end..]);
    }

    private bool FollowedBySemicolon(DtabEntry e)
    {
        // Only trivia may stand between a dentry and its ';' (a '#' comment would hide it, so skip comments too).
        var i = e.End;
        while (i < Text.Length)
        {
            var c = Text[i];
            if (c == ';') return true;
            if (c == '#')
            {
                while (i < Text.Length && Text[i] != '\n') i++;
                continue;
            }
            if (!char.IsWhiteSpace(c)) return false;
            i++;
        }
        return false;
    }

    private int SkipSpaces(int i)
    {
        while (i < Text.Length && Text[i] is ' ' or '\t' or '\r') i++;
        return i;
    }
}
