using System.Text.Json.Nodes;

namespace Kubestead.Notifications;

/// <summary>
/// The body a Microsoft Teams Workflows webhook ("Post to a channel when a webhook request is received") accepts: a
/// message activity with one Adaptive Card attachment. Version 1.4 of the card schema is the highest Teams renders in
/// every client.
/// </summary>
public static class TeamsCardPayload
{
    public const string CardContentType = "application/vnd.microsoft.card.adaptive";

    public static JsonObject Render(RolloutNotification n)
    {
        var facts = new JsonArray();
        foreach (var (name, value) in n.Facts())
            facts.Add((JsonNode)new JsonObject { ["title"] = name, ["value"] = value });
        var card = new JsonObject
        {
            ["$schema"] = "http://adaptivecards.io/schemas/adaptive-card.json",
            ["type"] = "AdaptiveCard",
            ["version"] = "1.4",
            ["body"] = new JsonArray
            {
                (JsonNode)new JsonObject { ["type"] = "TextBlock", ["text"] = n.Title, ["weight"] = "Bolder", ["size"] = "Medium", ["wrap"] = true },
                (JsonNode)new JsonObject { ["type"] = "TextBlock", ["text"] = n.Message, ["wrap"] = true },
                (JsonNode)new JsonObject { ["type"] = "FactSet", ["facts"] = facts },
            },
        };
        if (n.ReportUrl is { } report)
            card["actions"] = new JsonArray { (JsonNode)new JsonObject { ["type"] = "Action.OpenUrl", ["title"] = "Open the report", ["url"] = report } };
        return new JsonObject
        {
            ["type"] = "message",
            ["attachments"] = new JsonArray { (JsonNode)new JsonObject { ["contentType"] = CardContentType, ["contentUrl"] = null, ["content"] = card } },
        };
    }
}
