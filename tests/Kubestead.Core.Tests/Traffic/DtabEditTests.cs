using System.Globalization;
using Kubestead.Traffic.Dtabs;

namespace Kubestead.Core.Tests.Traffic;

/// <summary>Removing a dentry wherever its ';' stands, and printing weights Finagle's grammar reads back exactly (issue #28 items 11, 12).</summary>
public class DtabEditTests
{
    [Theory]
    [InlineData("/svc => /#/io.l5d.k8s/default/http\n;/svc/users => 99 * /env/prod/users & 1 * /env/prod/users-v2\n", 0, "/svc/users")]
    [InlineData("/svc => /#/io.l5d.k8s/default/http # the default\n;\n/svc/users => /env/prod/users;\n", 0, "/svc/users")]
    [InlineData("/svc => /#/io.l5d.k8s/default/http;\n/svc/users => /env/prod/users # ours\n  ;\n/svc/web => /env/prod/web\n", 1, "/svc,/svc/web")]
    [InlineData("/svc/users => /env/prod/users\n  # Kubestead's canary\n;/svc/web => /env/prod/web", 0, "/svc/web")]
    [InlineData("/svc => /a;\n/svc/users => /env/prod/users\n;", 1, "/svc")]
    public void Removing_a_dentry_whose_semicolon_is_on_a_later_line_leaves_a_dtab_the_grammar_reads(string text, int index, string remaining)
    {
        var doc = DtabDocument.Parse(text);

        var removed = doc.Remove(index);

        Assert.Equal(remaining.Split(','), removed.Entries.Select(e => e.Dentry.Prefix));
        Assert.Equal(removed.Text, DtabDocument.Parse(removed.Text).Text);
        foreach (var kept in doc.Entries.Where((_, i) => i != index))
            Assert.Contains(text[kept.Start..kept.End], removed.Text);
    }

    [Fact]
    public void Removing_a_dentry_keeps_the_comments_on_other_lines()
    {
        var doc = DtabDocument.Parse("# namerd dtab for prod\n/svc => /#/io.l5d.k8s/default/http;\n/svc/users => /env/prod/users\n;\n# end\n");
        Assert.Equal("# namerd dtab for prod\n/svc => /#/io.l5d.k8s/default/http;\n# end\n", doc.Remove(1).Text);
    }

    [Theory]
    [InlineData(7.9e28)]
    [InlineData(1e300)]
    [InlineData(1e-30)]
    [InlineData(4.9e-324)]
    [InlineData(0.1)]
    [InlineData(1234567890.1234567)]
    [InlineData(0.30000000000000004)]
    [InlineData(99)]
    [InlineData(0)]
    public void A_weight_prints_without_an_exponent_and_reads_back_as_the_same_number(double weight)
    {
        var dentry = new Dentry("/svc/users", new NameTree.Union([new Weighted(weight, new NameTree.Leaf("/env/prod/users-v2")), new Weighted(1, new NameTree.Leaf("/env/prod/users"))]));

        var text = DtabPrinter.Print(dentry);

        Assert.DoesNotContain("E", DtabPrinter.Weight(weight), StringComparison.OrdinalIgnoreCase);
        var read = (NameTree.Union)DtabDocument.Parse(text).Entries.Single().Dentry.Destination;
        Assert.Equal(weight, read.Trees[0].Weight);
        Assert.Equal(weight.ToString("R", CultureInfo.InvariantCulture), double.Parse(DtabPrinter.Weight(weight), CultureInfo.InvariantCulture).ToString("R", CultureInfo.InvariantCulture));
    }
}
