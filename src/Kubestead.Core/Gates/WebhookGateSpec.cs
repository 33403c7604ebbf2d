using Kubestead.Kubernetes;
using Kubestead.Notifications;

namespace Kubestead.Gates;

/// <summary>
/// One entry of <c>spec.webhooks</c>: an HTTP call at one of Flagger's points whose 2xx lets the rollout go on. Like a
/// notification sink, its URL and signing key are kept outside the spec (a file or a Secret), because a gate's URL often
/// carries a token and the spec is stored in a ConfigMap.
/// </summary>
/// <param name="Name">Names the gate in history entries, Events and the idempotency key (never its URL).</param>
/// <param name="Point">Where it is called (<see cref="WebhookGatePoints"/>).</param>
/// <param name="Timeout">How long one call may take; no answer by then is a failure.</param>
/// <param name="AbortOnFailure">A failed call aborts the rollout (traffic to stable); otherwise it pauses until resumed.</param>
/// <param name="Metadata">Passed through in the payload, as Flagger's webhook metadata is (a test name, a ticket).</param>
public sealed record WebhookGateSpec(
    string Name,
    string Point,
    SecretSource Url,
    SecretSource? SigningKey,
    TimeSpan Timeout,
    bool AbortOnFailure,
    IReadOnlyDictionary<string, string> Metadata);
