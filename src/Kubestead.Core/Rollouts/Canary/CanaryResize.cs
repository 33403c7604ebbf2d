namespace Kubestead.Rollouts.Canary;

/// <summary>A resize of the canary (and a created baseline) that followed stable's replica count between weight steps.</summary>
public sealed record CanaryResize(string CanaryDeployment, int? CanaryFrom, int CanaryTo, string? BaselineDeployment, int? BaselineFrom, int BaselineTo)
{
    public string Describe() =>
        $"resized to follow stable's replica count: Deployment {CanaryDeployment} from {CanaryFrom} to {CanaryTo} replicas" +
        (BaselineDeployment is { } b && BaselineFrom != BaselineTo ? $", Deployment {b} from {BaselineFrom} to {BaselineTo} replicas" : "");
}
