using System.Globalization;
using System.Xml;
using System.Xml.Linq;

namespace Kubestead.Metrics.CloudWatch;

/// <summary>
/// A GetMetricData answer in the query protocol's XML: per query id its status and (timestamp, value) points, the
/// answer's messages and the token of the next page. Element names are matched without their namespace.
/// </summary>
internal sealed record GetMetricDataAnswer(
    IReadOnlyList<(string Id, string Status, IReadOnlyList<(DateTimeOffset At, double Value)> Points, string Messages)> Results,
    string? NextToken,
    string Messages)
{
    /// <summary>Null when <paramref name="body"/> is not XML of that shape.</summary>
    public static GetMetricDataAnswer? Parse(string body)
    {
        XElement root;
        try
        {
            root = XElement.Parse(body);
        }
        catch (XmlException)
        {
            return null;
        }
        if (Child(root, "GetMetricDataResult") is not { } result) return null;
        try
        {
            return Read(result);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static GetMetricDataAnswer? Read(XElement result)
    {
        var results = new List<(string, string, IReadOnlyList<(DateTimeOffset, double)>, string)>();
        foreach (var member in Members(Child(result, "MetricDataResults")))
        {
            var times = Members(Child(member, "Timestamps")).Select(t => DateTimeOffset.Parse(t.Value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal)).ToList();
            var values = Members(Child(member, "Values")).Select(v => double.Parse(v.Value, NumberStyles.Float, CultureInfo.InvariantCulture)).ToList();
            if (times.Count != values.Count) return null;
            results.Add((Child(member, "Id")?.Value ?? "", Child(member, "StatusCode")?.Value ?? "Complete", times.Zip(values).ToList(), MessagesOf(member)));
        }
        return new GetMetricDataAnswer(results, Child(result, "NextToken")?.Value is { Length: > 0 } token ? token : null, MessagesOf(result));
    }

    /// <summary>The query protocol's error: <c>&lt;ErrorResponse&gt;&lt;Error&gt;&lt;Code/&gt;&lt;Message/&gt;</c>; null when the body has none.</summary>
    public static (string Code, string Message)? Error(string body)
    {
        try
        {
            var root = XElement.Parse(body);
            var error = root.Name.LocalName == "Error" ? root : root.Descendants().FirstOrDefault(e => e.Name.LocalName == "Error");
            return error is null ? null : (Child(error, "Code")?.Value ?? "", Child(error, "Message")?.Value ?? "");
        }
        catch (XmlException)
        {
            return null;
        }
    }

    private static XElement? Child(XElement? parent, string name) => parent?.Elements().FirstOrDefault(e => e.Name.LocalName == name);

    private static IEnumerable<XElement> Members(XElement? list) => list?.Elements().Where(e => e.Name.LocalName == "member") ?? [];

    private static string MessagesOf(XElement parent) =>
        string.Join("; ", Members(Child(parent, "Messages")).Select(m => $"{Child(m, "Code")?.Value}: {Child(m, "Value")?.Value}"));
}
