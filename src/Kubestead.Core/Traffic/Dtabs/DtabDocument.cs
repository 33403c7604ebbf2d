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

    /// <summary>
    /// Removes the dentry, its ';' and the rest of its line when nothing else stands there. A ';' on a later line (after a
    /// line break or a comment) goes too, with its line when it stood alone, or the ';' left behind would start the dtab
    /// or stand next to another one, which the grammar rejects.
    /// </summary>
    public DtabDocument Remove(int index)
    {
        var e = Entries[index];
        var text = Text;
        var end = e.End;
        var separator = SemicolonAfter(e);
        var i = SkipSpaces(text, end);
        if (separator == i)
        {
            end = i + 1;
            var j = SkipSpaces(text, end);
            if (j < text.Length && text[j] == '\n') end = j + 1;
            else if (j == text.Length) end = j;
        }
        else if (separator >= 0)
        {
            // Later in the text than the dentry, so the dentry's indices still hold after this cut.
            var lineStart = text.LastIndexOf('\n', separator - 1) + 1;
            var after = SkipSpaces(text, separator + 1);
            var alone = text[lineStart..separator].All(c => c is ' ' or '\t') && (after == text.Length || text[after] == '\n');
            text = alone ? text[..lineStart] + text[Math.Min(after + 1, text.Length)..] : text[..separator] + text[(separator + 1)..];
        }
        var start = e.Start;
        // Take the line's indentation too when the dentry started its line.
        var k = start;
        while (k > 0 && text[k - 1] is ' ' or '\t') k--;
        var startsLine = k == 0 || text[k - 1] == '\n';
        // A dentry alone on its line, its ';' elsewhere or absent: its line break goes with it.
        if (startsLine && end == e.End && SkipSpaces(text, end) is var lineEnd && lineEnd < text.Length && text[lineEnd] == '\n') end = lineEnd + 1;
        if (startsLine && (end == text.Length || text[end - 1] == '\n')) start = k;
        return Parse(text[..start] + text[end..]);
    }

    /// <summary>Where the ';' that ends a dentry stands (only whitespace and comments in between), or -1.</summary>
    private int SemicolonAfter(DtabEntry e)
    {
        var i = e.End;
        while (i < Text.Length)
        {
            var c = Text[i];
            if (c == ';') return i;
            if (c == '#')
            {
                while (i < Text.Length && Text[i] != '\n') i++;
                continue;
            }
            if (!char.IsWhiteSpace(c)) return -1;
            i++;
        }
        return -1;
    }

    private bool FollowedBySemicolon(DtabEntry e) => SemicolonAfter(e) >= 0;

    private static int SkipSpaces(string text, int i)
    {
        while (i < text.Length && text[i] is ' ' or '\t' or '\r') i++;
        return i;
    }
}
