namespace Kubestead.Gates;

/// <summary>What one gate call came to: passed (a 2xx) or not, and a line for the history with the URL redacted.</summary>
public sealed record WebhookGateOutcome(bool Passed, string Detail);
