using Kubestead.Kubernetes;
using Kubestead.Notifications;
using Kubestead.Rollouts;
using Kubestead.Specs;

namespace Kubestead.Core.Tests.Notifications;

/// <summary><c>spec.notifications</c>: sinks, their events, and URLs and keys that are never written in the spec.</summary>
public class NotificationSpecTests
{
    private static readonly string Base = RolloutSpecDefaults.ForImage("shop", "web", "shop", MeshProviders.Istio, "registry.example.com/shop:2").TrimEnd();

    private static SpecParseResult Parse(string block) => RolloutSpecParser.Parse(Base + "\n  notifications:\n" + block);

    [Fact]
    public void Sinks_parse_with_their_sources_and_events_and_all_events_by_default()
    {
        var result = Parse("""
                - name: ops
                  type: teams
                  url: {file: /etc/kubestead/teams-url}
                  events: [paused, promoted]
                - name: audit
                  type: webhook
                  url: {secretKeyRef: {name: hooks, key: url}}
                  signingKey: {secretKeyRef: {name: hooks, key: hmac}}
            """);

        Assert.True(result.IsValid, string.Join("\n", result.Problems));
        var sinks = result.Spec!.Notifications;
        Assert.Equal(new SecretSource("spec.notifications[0].url", File: "/etc/kubestead/teams-url"), sinks[0].Url);
        Assert.Equal([NotificationEvents.Paused, NotificationEvents.Promoted], sinks[0].Events);
        Assert.Equal(new SecretSource("spec.notifications[1].signingKey", Secret: new SecretKeyRef("hooks", "hmac")), sinks[1].SigningKey);
        Assert.Equal(NotificationEvents.All, sinks[1].Events);
    }

    [Fact]
    public void A_url_written_in_the_spec_is_refused_without_repeating_it()
    {
        var result = Parse("""
                - name: ops
                  type: slack
                  url: https://hooks.slack.com/services/T1/B2/verysecret
            """);

        var problem = Assert.Single(result.Problems);
        Assert.Equal("spec.notifications[0].url", problem.Field);
        Assert.Contains("secretKeyRef", problem.Message);
        Assert.DoesNotContain("verysecret", problem.ToString());
    }

    [Theory]
    [InlineData("url: {file: /a, secretKeyRef: {name: s, key: k}}", "spec.notifications[0].url", "exactly one of file or secretKeyRef")]
    [InlineData("url: {}", "spec.notifications[0].url", "exactly one of file or secretKeyRef")]
    [InlineData("url: {secretKeyRef: {name: s}}", "spec.notifications[0].url.secretKeyRef.key", "required")]
    [InlineData("url: {file: /a}\n      events: [started, promote]", "spec.notifications[0].events[1]", "did you mean 'promoted'?")]
    [InlineData("url: {file: /a}\n      events: []", "spec.notifications[0].events", "is empty")]
    [InlineData("url: {file: /a}\n      signingKey: {file: /k}", "spec.notifications[0].signingKey", "only a 'webhook' sink signs")]
    public void Bad_sinks_name_the_field_at_fault(string fields, string field, string message)
    {
        var result = Parse($"""
                - name: ops
                  type: slack
                  {fields}
            """);

        Assert.Contains(result.Problems, p => p.Field == field && p.Message.Contains(message));
    }

    [Fact]
    public void Two_sinks_of_one_name_and_an_unknown_type_are_refused()
    {
        var result = Parse("""
                - name: ops
                  type: teams
                  url: {file: /a}
                - name: ops
                  type: email
                  url: {file: /b}
            """);

        Assert.Contains(result.Problems, p => p.Field == "spec.notifications[1].name" && p.Message.Contains("names another sink"));
        Assert.Contains(result.Problems, p => p.Field == "spec.notifications[1].type" && p.Message.Contains("'email' is not one of teams, slack, webhook"));
    }

    [Theory]
    [InlineData("https://ci.example.test/runs/7/report.html", null)]
    [InlineData("report.html", "must be an absolute http(s) URL")]
    [InlineData("ftp://files.example.test/report.html", "must be an absolute http(s) URL")]
    [InlineData("https://bob:hunter2@ci.example.test/report.html", "must not carry a user or password")]
    public void The_report_url_is_an_absolute_http_url_without_credentials(string url, string? problem)
    {
        var result = RolloutSpecParser.Parse(Base + $"\n  reportUrl: {url}\n");
        if (problem is null)
        {
            Assert.Equal(url, result.Spec!.ReportUrl);
            return;
        }
        var p = Assert.Single(result.Problems);
        Assert.Equal("spec.reportUrl", p.Field);
        Assert.Contains(problem, p.Message);
        Assert.DoesNotContain("hunter2", p.Message);
    }
}
