namespace Kubestead.Sandbox.Simulation;

/// <summary>PromQL the sandbox's Prometheus does not parse or does not answer; the message says what and where.</summary>
public sealed class PromQlNotSupportedException(string message) : Exception(message);
