
namespace Kubestead.Cli.Tests;

/// <summary>
/// What a CI log shows for a paused rollout (the low-traffic demo: insufficient data), compared with golden files: one
/// annotation per event on GitHub Actions and on Azure DevOps, never the same line twice. Regenerate the files with
/// KUBESTEAD_UPDATE_GOLDEN=1 after a deliberate change, and review the diff.
/// </summary>
public class CiGoldenTests
{
    private static string GoldenPath(string name) => Path.Combine(Kubestead.Tests.Shared.RepositoryRoot.Path, "tests", "Kubestead.Cli.Tests", "golden", name);

    private static async Task<(int Code, string Err)> PausedDemo(Dictionary<string, string?> vars)
    {
        var error = new StringWriter();
        var ctx = new CliContext
        {
            Out = new StringWriter(),
            Error = error,
            Environment = k => vars.GetValueOrDefault(k),
            IsTerminal = false,
            Connect = (_, _, _) => throw new InvalidOperationException("the demo needs no cluster"),
        };
        var code = await Task.Run(() => new CliApp(ctx).RunAsync(["demo", "--mesh", "istio", "--scenario", "low-traffic"]));
        return (code, error.ToString().ReplaceLineEndings("\n"));
    }

    [Theory]
    [InlineData("GITHUB_ACTIONS", "true", "ci-paused-github.txt")]
    [InlineData("TF_BUILD", "True", "ci-paused-azure-devops.txt")]
    public async Task A_paused_demo_annotates_each_event_once(string variable, string value, string golden)
    {
        var (code, err) = await PausedDemo(new Dictionary<string, string?> { [variable] = value });
        Assert.Equal(4, code);
        var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var repeated = lines.GroupBy(l => l).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.True(repeated.Count == 0, "repeated CI lines:\n" + string.Join("\n", repeated));
        // One warning for the one pause, however the final report words it.
        Assert.Single(lines, l => l.StartsWith("::warning", StringComparison.Ordinal) || l.StartsWith("##vso[task.logissue type=warning]", StringComparison.Ordinal));

        var path = GoldenPath(golden);
        if (Environment.GetEnvironmentVariable("KUBESTEAD_UPDATE_GOLDEN") == "1")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, err);
        }
        Assert.Equal(File.ReadAllText(path).ReplaceLineEndings("\n"), err);
    }
}
