using Kubestead.Kubernetes;
using Kubestead.Notifications;
using YamlDotNet.RepresentationModel;

namespace Kubestead.Specs;

public static partial class RolloutSpecParser
{
    /// <summary><c>spec.notifications</c>: a list of sinks, each with its events and where its URL (and key) are kept.</summary>
    private static IReadOnlyList<NotificationSinkSpec> ReadNotifications(SpecReader r, YamlMappingNode spec)
    {
        var list = r.Seq(spec, "notifications", "spec", required: false);
        if (list is null) return [];
        var sinks = new List<NotificationSinkSpec>();
        var names = new HashSet<string>();
        for (var i = 0; i < list.Children.Count; i++)
        {
            var p = $"spec.notifications[{i}]";
            if (list.Children[i] is not YamlMappingNode m)
            {
                r.Problem(list.Children[i], p, "must be a mapping with name, type, url and events");
                continue;
            }
            r.CheckKeys(m, p, "name", "type", "url", "signingKey", "events");
            var name = r.Name(m, "name", p, required: true, maxLength: 63);
            if (name is not null && !names.Add(name))
                r.Problem(SpecReader.Child(m, "name"), $"{p}.name", $"'{name}' names another sink too; sink names must differ (history entries name them)");
            var type = r.Enum(m, "type", p, NotificationSinkTypes.All, null, required: true);
            var url = ReadSecretSource(r, m, "url", p, required: true);
            var key = ReadSecretSource(r, m, "signingKey", p, required: false);
            if (key is not null && type is not null && type != NotificationSinkTypes.Webhook)
                r.Problem(SpecReader.Child(m, "signingKey"), $"{p}.signingKey", $"only a 'webhook' sink signs its messages; {type} verifies its own URL");
            var events = ReadEvents(r, m, p);
            if (name is not null && type is not null && url is not null && events is not null)
                sinks.Add(new NotificationSinkSpec(name, type, url, key, events));
        }
        return sinks;
    }

    private static IReadOnlyList<string>? ReadEvents(SpecReader r, YamlMappingNode m, string p)
    {
        var node = SpecReader.Child(m, "events");
        if (node is null || SpecReader.IsNull(node)) return NotificationEvents.All;
        var seq = r.Seq(m, "events", p, required: false);
        if (seq is null) return null;
        var events = new List<string>();
        var ok = true;
        for (var j = 0; j < seq.Children.Count; j++)
        {
            var value = (seq.Children[j] as YamlScalarNode)?.Value;
            if (value is not null && NotificationEvents.All.Contains(value))
            {
                events.Add(value);
                continue;
            }
            var hint = value is null ? null : SpecReader.DidYouMean(value, NotificationEvents.All);
            r.Problem(seq.Children[j], $"{p}.events[{j}]", $"'{value}' is not one of {string.Join(", ", NotificationEvents.All)}" + (hint is null ? "" : $"; did you mean '{hint}'?"));
            ok = false;
        }
        if (ok && events.Count == 0)
        {
            r.Problem(seq, $"{p}.events", "is empty: list the events this sink wants, or leave the field out for all of them");
            return null;
        }
        return ok ? events.Distinct().ToList() : null;
    }

    /// <summary>
    /// A value kept outside the spec: <c>{file: path}</c> or <c>{secretKeyRef: {name, key}}</c>. A URL written inline is
    /// refused: the spec is stored in a ConfigMap and shown by status, and a webhook URL is a credential.
    /// </summary>
    private static SecretSource? ReadSecretSource(SpecReader r, YamlMappingNode parent, string key, string path, bool required)
    {
        var field = SpecReader.Join(path, key);
        var node = SpecReader.Child(parent, key);
        if (node is YamlScalarNode s && !SpecReader.IsNull(s))
        {
            // Never echo the value: it is the secret.
            r.Problem(node, field, "must not be written in the spec (it is stored in a ConfigMap anyone who can read the rollout sees): " +
                "give it as {file: /path} or {secretKeyRef: {name: <secret>, key: <key>}}");
            return null;
        }
        var m = r.Map(parent, key, path, required);
        if (m is null) return null;
        r.CheckKeys(m, field, "file", "secretKeyRef");
        var file = r.Str(m, "file", field);
        var secret = r.Map(m, "secretKeyRef", field, required: false);
        if ((file is null) == (secret is null))
        {
            if (SpecReader.Child(m, "file") is null && SpecReader.Child(m, "secretKeyRef") is null || file is not null)
                r.Problem(m, field, "needs exactly one of file or secretKeyRef");
            return null;
        }
        if (secret is null) return new SecretSource(field, File: file);
        var refPath = SpecReader.Join(field, "secretKeyRef");
        r.CheckKeys(secret, refPath, "name", "key");
        var name = r.Name(secret, "name", refPath, required: true);
        var secretKey = r.Str(secret, "key", refPath, required: true);
        return name is null || secretKey is null ? null : new SecretSource(field, Secret: new SecretKeyRef(name, secretKey));
    }

    /// <summary>
    /// <c>spec.reportUrl</c>: where the rollout's HTML report is published (a CI artifact, a wiki page), so notifications
    /// link it from every host, the controller too. It is shown in messages, so credentials in it are refused.
    /// </summary>
    private static string? ReadReportUrl(SpecReader r, YamlMappingNode spec)
    {
        var text = r.Str(spec, "reportUrl", "spec");
        if (text is null) return null;
        var node = SpecReader.Child(spec, "reportUrl");
        if (!Uri.TryCreate(text, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
        {
            r.Problem(node, "spec.reportUrl", "must be an absolute http(s) URL, such as https://ci.example.com/runs/42/report.html");
            return null;
        }
        if (url.UserInfo.Length > 0)
        {
            // Never echo it: the user part may be a password.
            r.Problem(node, "spec.reportUrl", "must not carry a user or password (messages show this URL to everyone in the channel)");
            return null;
        }
        return url.AbsoluteUri;
    }
}
