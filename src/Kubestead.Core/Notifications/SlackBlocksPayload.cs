using System.Text.Json.Nodes;

namespace Kubestead.Notifications;

/// <summary>
/// The body a Slack incoming webhook accepts: <c>text</c> (what notifications and screen readers show) plus Block Kit
/// blocks: a header, the message, the facts as section fields, and the report link.
/// </summary>
public static class SlackBlocksPayload
{
    // Slack's limits: a header's plain text, a section field, and the fields of one section.
    private const int HeaderLimit = 150;
    private const int FieldLimit = 2000;
    private const int FieldsPerSection = 10;

    public static JsonObject Render(RolloutNotification n)
    {
        var fields = new JsonArray();
        foreach (var (name, value) in n.Facts().Take(FieldsPerSection))
            fields.Add((JsonNode)Mrkdwn(Cut($"*{Escape(name)}*\n{Escape(value)}", FieldLimit)));
        var blocks = new JsonArray
        {
            (JsonNode)new JsonObject { ["type"] = "header", ["text"] = new JsonObject { ["type"] = "plain_text", ["text"] = Cut(n.Title, HeaderLimit) } },
            (JsonNode)new JsonObject { ["type"] = "section", ["text"] = Mrkdwn(Cut(Escape(n.Message), 3000)) },
            (JsonNode)new JsonObject { ["type"] = "section", ["fields"] = fields },
        };
        if (n.ReportUrl is { } report)
            blocks.Add((JsonNode)new JsonObject { ["type"] = "context", ["elements"] = new JsonArray { (JsonNode)Mrkdwn($"<{Escape(report)}|HTML report>") } });
        return new JsonObject { ["text"] = $"{n.Title}: {n.Message}", ["blocks"] = blocks };
    }

    private static JsonObject Mrkdwn(string text) => new() { ["type"] = "mrkdwn", ["text"] = text };

    /// <summary>Slack reads &amp;, &lt; and &gt; as markup (&lt;!channel&gt; would ping everyone): escaped as Slack documents.</summary>
    public static string Escape(string text) => text.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");

    private static string Cut(string text, int limit) => text.Length <= limit ? text : text[..(limit - 1)] + "…";
}
