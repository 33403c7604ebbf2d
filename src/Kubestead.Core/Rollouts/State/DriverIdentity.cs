namespace Kubestead.Rollouts.State;

/// <summary>
/// Who drives a rollout: user, host, and the CI run when there is one, plus a per-process suffix so two
/// shells of the same user on the same host are told apart.
/// </summary>
public sealed record DriverIdentity(string User, string Host, string? CiRun, string Instance)
{
    public override string ToString() =>
        CiRun is null ? $"{User}@{Host} ({Instance})" : $"{User}@{Host} ({CiRun}, {Instance})";

    public static DriverIdentity Current(Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        return new DriverIdentity(
            environment("USER") ?? environment("USERNAME") ?? Environment.UserName,
            environment("HOSTNAME") ?? Environment.MachineName,
            DetectCiRun(environment),
            Guid.NewGuid().ToString("N")[..8]);
    }

    internal static string? DetectCiRun(Func<string, string?> env)
    {
        if (string.Equals(env("GITHUB_ACTIONS"), "true", StringComparison.OrdinalIgnoreCase))
            return $"GitHub Actions {env("GITHUB_REPOSITORY")} run {env("GITHUB_RUN_ID")} attempt {env("GITHUB_RUN_ATTEMPT") ?? "1"}";
        if (!string.IsNullOrEmpty(env("TF_BUILD")))
            return $"Azure DevOps {env("SYSTEM_TEAMPROJECT")} build {env("BUILD_BUILDID")}";
        if (!string.IsNullOrEmpty(env("GITLAB_CI")))
            return $"GitLab {env("CI_PROJECT_PATH")} job {env("CI_JOB_ID")}";
        if (!string.IsNullOrEmpty(env("CI")) && !string.IsNullOrEmpty(env("BUILD_ID")))
            return $"CI build {env("BUILD_ID")}";
        return null;
    }
}
