using Kubestead.Gates;
using Kubestead.Kubernetes;
using Kubestead.Specs;

namespace Kubestead.Core.Tests.Gates;

/// <summary><c>spec.webhooks</c> (issue #32): what parses, and every bad field named before anything is written.</summary>
public class WebhookGateSpecTests
{
    private static SpecParseResult Parse(string webhooks) => RolloutSpecParser.Parse(
        RolloutSpecDefaults.ForImage("shop", "web", "shop", MeshProviders.Istio, "registry.example.com/shop:2").TrimEnd()
        + "\n  webhooks:\n" + webhooks);

    [Fact]
    public void A_webhook_parses_with_its_defaults_and_with_every_field()
    {
        var parsed = Parse("""
                - name: smoke
                  type: preRollout
                  url: {file: /run/hooks/smoke}
                - name: change-board
                  type: confirmPromotion
                  url: {secretKeyRef: {name: hooks, key: board}}
                  signingKey: {secretKeyRef: {name: hooks, key: hmac}}
                  timeout: 30s
                  onFailure: abort
                  metadata: {ticket: CHG-1234}
            """);
        Assert.Empty(parsed.Problems);
        var hooks = parsed.Spec!.Webhooks;
        Assert.Equal(2, hooks.Count);
        Assert.Equal(WebhookGatePoints.PreRollout, hooks[0].Point);
        Assert.Equal(TimeSpan.FromSeconds(10), hooks[0].Timeout);
        Assert.False(hooks[0].AbortOnFailure);
        Assert.Equal("/run/hooks/smoke", hooks[0].Url.File);
        Assert.Empty(hooks[0].Metadata);
        Assert.True(hooks[1].AbortOnFailure);
        Assert.Equal(TimeSpan.FromSeconds(30), hooks[1].Timeout);
        Assert.Equal(new SecretKeyRef("hooks", "hmac"), hooks[1].SigningKey!.Secret);
        Assert.Equal("spec.webhooks[1].signingKey", hooks[1].SigningKey!.Field);
        Assert.Equal("CHG-1234", hooks[1].Metadata["ticket"]);
    }

    [Theory]
    [InlineData("- {name: a, type: preRollout}", "spec.webhooks[0].url", "required field is missing")]
    [InlineData("- {name: a, type: pre-rollout, url: {file: /x}}", "spec.webhooks[0].type", "is not one of preRollout, confirmTrafficIncrease, confirmPromotion, postRollout")]
    [InlineData("- {name: a, type: preRollout, url: 'https://hooks.example.test/t0ken'}", "spec.webhooks[0].url", "must not be written in the spec")]
    [InlineData("- {name: a, type: preRollout, url: {file: /x}, timeout: 10m}", "spec.webhooks[0].timeout", "longer than the maximum 5m")]
    [InlineData("- {name: a, type: preRollout, url: {file: /x}, timeout: 0s}", "spec.webhooks[0].timeout", "shorter than the minimum")]
    [InlineData("- {name: a, type: preRollout, url: {file: /x}, onFailure: retry}", "spec.webhooks[0].onFailure", "'retry' is not one of pause, abort")]
    [InlineData("- {name: a, type: postRollout, url: {file: /x}, onFailure: abort}", "spec.webhooks[0].onFailure", "does not apply to a postRollout webhook")]
    [InlineData("- {name: a, type: preRollout, url: {file: /x}, metadata: {n: [1]}}", "spec.webhooks[0].metadata.n", "must be a string")]
    [InlineData("- {name: a, type: preRollout, url: {file: /x}, timeot: 5s}", "spec.webhooks[0].timeot", "did you mean 'timeout'?")]
    [InlineData("- {name: a, type: preRollout, url: {file: /x}}\n    - {name: a, type: postRollout, url: {file: /y}}", "spec.webhooks[1].name", "names another webhook too")]
    public void Bad_webhook_fields_are_named_and_the_spec_is_refused(string webhooks, string field, string message)
    {
        var parsed = Parse("    " + webhooks + "\n");
        Assert.Null(parsed.Spec);
        Assert.Contains(parsed.Problems, p => p.Field == field && p.Message.Contains(message));
        Assert.DoesNotContain(parsed.Problems, p => p.Message.Contains("t0ken"));
    }

    [Fact]
    public void The_idempotency_key_is_the_same_for_every_call_of_one_gate_at_one_point_of_one_run_and_differs_otherwise()
    {
        var gate = new WebhookGateSpec("load", WebhookGatePoints.ConfirmTrafficIncrease, new SecretSource("spec.webhooks[0].url", File: "/x"), null,
            TimeSpan.FromSeconds(10), false, new Dictionary<string, string>());
        var at2 = new WebhookGateContext("shop", "web", 1700000000000, "Progressing", 5) { StepNumber = 2 };
        Assert.Equal("shop/web/1700000000000/confirmTrafficIncrease/load/step-2", at2.IdempotencyKey(gate));
        Assert.Equal(at2.IdempotencyKey(gate), (at2 with { CanaryPercent = 7, Phase = "Paused" }).IdempotencyKey(gate));
        Assert.NotEqual(at2.IdempotencyKey(gate), (at2 with { StepNumber = 4 }).IdempotencyKey(gate));
        Assert.NotEqual(at2.IdempotencyKey(gate), (at2 with { RunId = 1700000000001 }).IdempotencyKey(gate));
        Assert.Equal("shop/web/1700000000000/preRollout/load", at2.IdempotencyKey(gate with { Point = WebhookGatePoints.PreRollout }));
    }
}
