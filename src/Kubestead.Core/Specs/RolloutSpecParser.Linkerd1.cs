using Kubestead.Traffic.Dtabs;
using YamlDotNet.RepresentationModel;

namespace Kubestead.Specs;

public static partial class RolloutSpecParser
{
    private static Linkerd1Settings? ReadLinkerd1(SpecReader r, YamlMappingNode spec, string? service)
    {
        var m = r.Map(spec, "linkerd1", "spec", required: true);
        if (m is null) return null;
        const string p = "spec.linkerd1";
        r.CheckKeys(m, p, "namerd", "namespace", "prefix", "stable", "canary", "canaryService");
        var address = r.Str(m, "namerd", p, required: true);
        Uri? namerd = null;
        if (address is not null)
        {
            if (Uri.TryCreate(address, UriKind.Absolute, out var u) && (u.Scheme == "http" || u.Scheme == "https") && u.Query.Length == 0)
                namerd = u;
            else
                r.Problem(SpecReader.Child(m, "namerd"), $"{p}.namerd", $"'{address}' is not an http(s) URL of namerd's HTTP controller (e.g. http://namerd:4180)");
        }
        var ns = r.Str(m, "namespace", p) ?? "default";
        if (ns.Length == 0 || ns.Contains('/') || ns.Any(char.IsWhiteSpace))
            r.Problem(SpecReader.Child(m, "namespace"), $"{p}.namespace", $"'{ns}' is not a dtab namespace name (no '/', no spaces)");
        string? Path(string field, bool prefix)
        {
            var v = r.Str(m, field, p, required: true);
            if (v is null) return null;
            try
            {
                var parsed = prefix ? DtabParser.ParsePrefix(v) : DtabParser.ParsePath(v);
                if (parsed == "/")
                {
                    r.Problem(SpecReader.Child(m, field), $"{p}.{field}", "must name at least one label (e.g. /svc/users), not the root");
                    return null;
                }
                return parsed;
            }
            catch (DtabSyntaxException e)
            {
                r.Problem(SpecReader.Child(m, field), $"{p}.{field}", $"'{v}' is not a dtab {(prefix ? "prefix" : "path")}: {e.Message}");
                return null;
            }
        }
        var dentryPrefix = Path("prefix", prefix: true);
        var stable = Path("stable", prefix: false);
        var canary = Path("canary", prefix: false);
        if (stable is not null && stable == canary)
            r.Problem(SpecReader.Child(m, "canary"), $"{p}.canary", $"the canary destination must differ from the stable destination ('{stable}')");
        var canarySvc = r.Name(m, "canaryService", p, maxLength: 63) ?? $"{service}-canary";
        return namerd is null || dentryPrefix is null || stable is null || canary is null
            ? null
            : new Linkerd1Settings(namerd, ns, dentryPrefix, stable, canary, canarySvc);
    }
}
