using System.Text.Json.Nodes;

namespace Kubestead.Traffic.Dtabs;

/// <summary>
/// namerd's JSON form of a dtab: an array of <c>{"prefix": "/svc", "dst": "/#/io.l5d.fs"}</c>, both sides as text.
/// It carries no comments or spacing, so Kubestead reads and writes the text form (<c>application/dtab</c>).
/// </summary>
public static class DtabJson
{
    public static JsonArray ToJson(DtabDocument dtab) =>
        new(dtab.Entries.Select(e => (JsonNode?)new JsonObject { ["prefix"] = e.Dentry.Prefix, ["dst"] = DtabPrinter.Print(e.Dentry.Destination) }).ToArray());

    /// <summary>The dentries as canonical text; throws <see cref="DtabSyntaxException"/> naming the bad element.</summary>
    public static string ToText(JsonNode? json)
    {
        if (json is not JsonArray array) throw new DtabSyntaxException("a JSON dtab is an array of {\"prefix\", \"dst\"} objects", 0);
        var lines = new List<string>();
        for (var i = 0; i < array.Count; i++)
        {
            if (array[i] is not JsonObject o || o["prefix"] is not JsonValue p || o["dst"] is not JsonValue d
                || !p.TryGetValue<string>(out var prefix) || !d.TryGetValue<string>(out var dst))
                throw new DtabSyntaxException($"[{i}]: needs string fields prefix and dst", i);
            Dentry dentry;
            try
            {
                dentry = new Dentry(DtabParser.ParsePrefix(prefix), DtabParser.ParseTree(dst));
            }
            catch (DtabSyntaxException e)
            {
                throw new DtabSyntaxException($"[{i}]: {e.Message}", i);
            }
            lines.Add(DtabPrinter.Print(dentry) + ";\n");
        }
        return string.Concat(lines);
    }
}
