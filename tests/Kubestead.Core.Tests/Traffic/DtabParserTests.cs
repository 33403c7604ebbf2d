using FsCheck;
using FsCheck.Fluent;
using Kubestead.Traffic.Dtabs;

namespace Kubestead.Core.Tests.Traffic;

public class DtabParserTests
{
    [Fact]
    public void Reads_weighted_unions_alternations_groups_constants_wildcards_namer_paths_and_comments()
    {
        const string text = """
            # production routing
            /k8s => /#/io.l5d.k8s/prod/http;   # the namer
            /svc/*/v1 => /env/prod | /env/staging ;
            /svc/users => 99 * /env/prod/users & 1 * /env/prod/users-v2;
            /fallback=>(/a | 0.5*/b & 2 * /c) | ! | ~ | $;
            """;
        var doc = DtabDocument.Parse(text);
        Assert.Equal(4, doc.Entries.Count);
        Assert.Equal(new Dentry("/k8s", new NameTree.Leaf("/#/io.l5d.k8s/prod/http")), doc.Entries[0].Dentry);
        Assert.Equal("/svc/*/v1", doc.Entries[1].Dentry.Prefix);
        Assert.IsType<NameTree.Alt>(doc.Entries[1].Dentry.Destination);
        var union = Assert.IsType<NameTree.Union>(doc.Entries[2].Dentry.Destination);
        Assert.Equal([99.0, 1.0], union.Trees.Select(w => w.Weight));
        Assert.Equal("/svc/users => 99 * /env/prod/users & 1 * /env/prod/users-v2", DtabPrinter.Print(doc.Entries[2].Dentry));
        Assert.Equal("/fallback => (/a | 0.5 * /b & 2 * /c) | ! | ~ | $", DtabPrinter.Print(doc.Entries[3].Dentry));
        // Spans exclude comments and spacing, so the text between dentries is reproduced exactly.
        Assert.Equal("/k8s => /#/io.l5d.k8s/prod/http", text[doc.Entries[0].Start..doc.Entries[0].End]);
    }

    [Fact]
    public void Reads_what_namerd_shows_back_and_hex_escapes()
    {
        var doc = DtabDocument.Parse("/svc/users=>99.0*/env/prod/users & 1.0*/env/prod/users-v2;/a=>/b\\x2fc/\\x66");
        Assert.Equal("/svc/users => 99 * /env/prod/users & 1 * /env/prod/users-v2", DtabPrinter.Print(doc.Entries[0].Dentry));
        Assert.Equal(new NameTree.Leaf("/b\\x2fc/f"), doc.Entries[1].Dentry.Destination);
    }

    [Theory]
    [InlineData("/svc => ", "a path")]
    [InlineData("/svc -> /a", "'='")]
    [InlineData("/svc => /a;;/b => /c", "'/'")]
    [InlineData("/svc => 1 /a", "'*'")]
    [InlineData("/svc => /a/", "label")]
    [InlineData("svc => /a", "'/'")]
    [InlineData("/svc => (/a", "')'")]
    [InlineData("/svc => /a # comment ; /b => /c", "")] // the comment runs to the end of the line: one dentry
    public void Rejects_what_Finagle_rejects_with_the_offset(string text, string expected)
    {
        if (expected.Length == 0)
        {
            Assert.Single(DtabDocument.Parse(text).Entries);
            return;
        }
        var e = Assert.Throws<DtabSyntaxException>(() => DtabDocument.Parse(text));
        Assert.Contains(expected, e.Message);
        Assert.Contains("offset", e.Message);
    }

    private static readonly Gen<string> Label = Gen.Elements("svc", "users", "env", "prod", "io.l5d.k8s", "#", "http", "users-v2", "a_b", "x:y", "%", "1");

    private static Gen<string> PathGen(bool prefix) =>
        from n in Gen.Choose(1, 4)
        from labels in Gen.ArrayOf(prefix ? Gen.OneOf(Label, Gen.Constant("*")) : Label, n)
        select "/" + string.Join("/", labels);

    private static readonly Gen<string> Space = Gen.Elements("", " ", "  ", "\n", "\t", " # note ; | & =>\n", "\n# comment\n   ");

    private static readonly Gen<string> Weight = Gen.Elements("1", "99", "0", "0.5", "12.25", "9999", "3.");

    private static Gen<string> Tree(int depth) => depth == 0
        ? Gen.OneOf(PathGen(false), Gen.Elements("!", "~", "$"))
        : Gen.OneOf(
            Tree(0),
            from a in Tree(depth - 1) from b in Tree(depth - 1) from s in Space select $"{a}{s}|{s}{b}",
            from w1 in Weight from a in Tree(0) from w2 in Weight from b in Tree(0) from s in Space select $"{w1}{s}*{s}{a}{s}&{s}{w2}*{b}",
            from a in Tree(depth - 1) from s in Space select $"({s}{a}{s})");

    private static readonly Gen<string> DtabText =
        from n in Gen.Choose(0, 5)
        from dentries in Gen.ArrayOf(from p in PathGen(true) from t in Tree(2) from s1 in Space from s2 in Space select $"{s1}{p}{s2}=>{s1}{t}{s2}", n)
        from trailing in Gen.Elements("", ";", ";\n", "\n# end")
        select string.Join(";", dentries) + (n > 0 ? trailing : "");

    [Fact]
    public void Print_of_parse_is_stable_weights_survive_and_the_text_round_trips_byte_for_byte()
    {
        Check.QuickThrowOnFailure(Prop.ForAll(DtabText.ToArbitrary(), text =>
        {
            var doc = DtabDocument.Parse(text);
            Assert.Equal(text, doc.Text);
            var canonical = doc.Canonical();
            var again = DtabDocument.Parse(canonical);
            Assert.Equal(canonical, again.Canonical());
            Assert.Equal(Weights(doc), Weights(again));
            Assert.Equal(doc.Entries.Select(e => e.Dentry), again.Entries.Select(e => e.Dentry));
        }));
    }

    [Fact]
    public void Adding_changing_and_removing_one_dentry_leaves_every_other_byte_alone()
    {
        var ours = new Dentry("/svc/users", new NameTree.Union([new Weighted(995, new NameTree.Leaf("/env/prod/users")), new Weighted(5, new NameTree.Leaf("/env/prod/users-v2"))]));
        Check.QuickThrowOnFailure(Prop.ForAll(DtabText.ToArbitrary(), text =>
        {
            var doc = DtabDocument.Parse(text);
            var added = doc.Append(ours);
            Assert.Equal(doc.Entries.Count + 1, added.Entries.Count);
            Assert.Equal(ours, added.Entries[^1].Dentry);
            Assert.Equal(doc.Entries.Select(e => e.Dentry), added.Entries.SkipLast(1).Select(e => e.Dentry));
            var changed = added.Replace(added.Entries.Count - 1, ours with { Destination = new NameTree.Union([new Weighted(1, new NameTree.Leaf("/env/prod/users")), new Weighted(1, new NameTree.Leaf("/env/prod/users-v2"))]) });
            Assert.Equal(added.Text[..added.Entries[^1].Start], changed.Text[..changed.Entries[^1].Start]);
            var removed = changed.Remove(changed.Entries.Count - 1);
            Assert.Equal(doc.Entries.Select(e => e.Dentry), removed.Entries.Select(e => e.Dentry));
            // What remains is the original text, plus the ';' and line break Kubestead needed to add after it.
            var expected = text;
            if (doc.Entries.Count > 0 && !HasSemicolonAfter(text, doc.Entries[^1].End))
                expected = text[..doc.Entries[^1].End] + ";" + text[doc.Entries[^1].End..];
            if (expected.Length > 0 && !expected.EndsWith('\n')) expected += "\n";
            Assert.Equal(expected, removed.Text);
        }));
    }

    [Fact]
    public void Removing_the_dentry_it_appended_gives_the_original_text_back()
    {
        foreach (var text in new[] { "", "/svc => /env/prod;\n", "# only a comment\n", "/a => /b;\n# tail comment\n", "/a => /b ; # why\n/c => /d;\n" })
        {
            var doc = DtabDocument.Parse(text);
            var ours = new Dentry("/svc/users", new NameTree.Leaf("/x"));
            Assert.Equal(text, doc.Append(ours).Remove(doc.Entries.Count).Text);
        }
    }

    private static bool HasSemicolonAfter(string text, int i)
    {
        while (i < text.Length)
        {
            if (text[i] == ';') return true;
            if (text[i] == '#') { while (i < text.Length && text[i] != '\n') i++; continue; }
            if (!char.IsWhiteSpace(text[i])) return false;
            i++;
        }
        return false;
    }

    private static List<double> Weights(DtabDocument doc) => doc.Entries.SelectMany(e => Weights(e.Dentry.Destination)).ToList();

    private static IEnumerable<double> Weights(NameTree t) => t switch
    {
        NameTree.Union u => u.Trees.SelectMany(w => Weights(w.Tree).Prepend(w.Weight)),
        NameTree.Alt a => a.Trees.SelectMany(Weights),
        _ => [],
    };
}
