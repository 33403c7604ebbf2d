using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;

namespace Kubestead.Cli.Tests;

/// <summary>One scrape of a controller process's /metrics, found at the address its JSON log says it listens on.</summary>
internal sealed record ControllerScrape(string Text)
{
    public static Uri BaseAddress(ChildProcess replica)
    {
        foreach (var line in replica.Out.Split('\n'))
            if (line.Contains("\"controller.listening\"", StringComparison.Ordinal) && JsonNode.Parse(line)?["address"]?.GetValue<string>() is { } address)
                return new Uri($"http://{address}");
        throw new InvalidOperationException("the replica never logged controller.listening:\n" + replica.Out + replica.Err);
    }

    public static async Task<(HttpStatusCode Status, string Body)> GetAsync(ChildProcess replica, string path)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        using var response = await http.GetAsync(new Uri(BaseAddress(replica), path));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    public static async Task<ControllerScrape> ReadAsync(ChildProcess replica)
    {
        var (status, body) = await GetAsync(replica, "/metrics");
        Assert.Equal(HttpStatusCode.OK, status);
        return new ControllerScrape(body);
    }

    /// <summary>The sum of every sample of <paramref name="name"/> whose labels contain <paramref name="labels"/> (null: all).</summary>
    public double Sum(string name, string? labels) => Kubestead.Tests.Shared.ExpositionText.Sum(Text, name, labels);

    /// <summary>The one sample of <paramref name="name"/> with exactly these labels (null: none).</summary>
    public double Value(string name, string? labels)
    {
        var prefix = labels is null ? name + " " : $"{name}{{{labels}}} ";
        var line = Text.Split('\n').SingleOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal))
                   ?? throw new Xunit.Sdk.XunitException($"no sample {prefix.Trim()} in:\n{Text}");
        return double.Parse(line[prefix.Length..], CultureInfo.InvariantCulture);
    }
}
