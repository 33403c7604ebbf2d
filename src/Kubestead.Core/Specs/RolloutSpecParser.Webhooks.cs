using Kubestead.Gates;
using YamlDotNet.RepresentationModel;

namespace Kubestead.Specs;

public static partial class RolloutSpecParser
{
    private static readonly TimeSpan DefaultGateTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan MaxGateTimeout = TimeSpan.FromMinutes(5);

    /// <summary><c>spec.webhooks</c>: gates called at Flagger's points, each with where its URL (and key) are kept.</summary>
    private static IReadOnlyList<WebhookGateSpec> ReadWebhooks(SpecReader r, YamlMappingNode spec)
    {
        var list = r.Seq(spec, "webhooks", "spec", required: false);
        if (list is null) return [];
        var gates = new List<WebhookGateSpec>();
        var names = new HashSet<string>();
        for (var i = 0; i < list.Children.Count; i++)
        {
            var p = $"spec.webhooks[{i}]";
            if (list.Children[i] is not YamlMappingNode m)
            {
                r.Problem(list.Children[i], p, "must be a mapping with name, type and url");
                continue;
            }
            r.CheckKeys(m, p, "name", "type", "url", "signingKey", "timeout", "onFailure", "metadata");
            var name = r.Name(m, "name", p, required: true, maxLength: 63);
            if (name is not null && !names.Add(name))
                r.Problem(SpecReader.Child(m, "name"), $"{p}.name", $"'{name}' names another webhook too; names must differ (the idempotency key and history entries name them)");
            var type = r.Enum(m, "type", p, WebhookGatePoints.All, null, required: true);
            var url = ReadSecretSource(r, m, "url", p, required: true);
            var key = ReadSecretSource(r, m, "signingKey", p, required: false);
            var timeout = r.Duration(m, "timeout", p, DefaultGateTimeout, min: TimeSpan.FromSeconds(1));
            if (timeout > MaxGateTimeout)
            {
                r.Problem(SpecReader.Child(m, "timeout"), $"{p}.timeout", $"is longer than the maximum {SpecDuration.Format(MaxGateTimeout)} (a driver waits for the call while holding the rollout)");
                timeout = null;
            }
            var onFailure = r.Enum(m, "onFailure", p, ["pause", "abort"], "pause");
            if (type == WebhookGatePoints.PostRollout && SpecReader.Child(m, "onFailure") is { } stray)
                r.Problem(stray, $"{p}.onFailure", "does not apply to a postRollout webhook: it is called after the promotion or rollback, which it cannot undo (a failure is recorded and warned about)");
            var metadata = ReadMetadata(r, m, p);
            if (name is not null && type is not null && url is not null && timeout is { } t && onFailure is not null && metadata is not null)
                gates.Add(new WebhookGateSpec(name, type, url, key, t, onFailure == "abort", metadata));
        }
        return gates;
    }

    private static IReadOnlyDictionary<string, string>? ReadMetadata(SpecReader r, YamlMappingNode m, string p)
    {
        var node = SpecReader.Child(m, "metadata");
        if (node is null || SpecReader.IsNull(node)) return new Dictionary<string, string>();
        var map = r.Map(m, "metadata", p, required: false);
        if (map is null) return null;
        var metadata = new Dictionary<string, string>();
        foreach (var (k, v) in map.Children)
        {
            var key = (k as YamlScalarNode)?.Value;
            if (key is null || v is not YamlScalarNode { Value: { } value })
            {
                r.Problem(v, $"{p}.metadata.{key}", "must be a string (metadata is passed through as text)");
                return null;
            }
            metadata[key] = value;
        }
        return metadata;
    }
}
