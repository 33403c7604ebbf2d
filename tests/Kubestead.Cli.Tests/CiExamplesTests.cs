using System.Text.RegularExpressions;
using System.Xml.Linq;
using Kubestead.Tests.Shared;
using YamlDotNet.RepresentationModel;

namespace Kubestead.Cli.Tests;

/// <summary>
/// Issue #26 item 11: the CI examples must run as written. Each example is read as the CI system would read it (YAML),
/// and the things that broke it are checked: every step that talks to the cluster has KUBECONFIG, the Azure DevOps
/// secure file is downloaded before it is used, what is installed is pinned to this repository's version, and a paused
/// rollout fails the step instead of letting later stages run.
/// </summary>
public class CiExamplesTests
{
    private static readonly string Root = RepositoryRoot.Path;

    /// <summary>kubestead commands that need no cluster (everything else reads or writes one).</summary>
    private static readonly HashSet<string> OfflineCommands = ["validate", "plan", "demo", "version", "--version", "--help"];

    [Fact]
    public void Every_github_actions_step_that_talks_to_the_cluster_has_KUBECONFIG_and_the_tool_is_pinned()
    {
        var steps = Steps(Load("examples/ci/github-actions.yml"), "jobs", "canary", "steps");
        var clusterSteps = 0;
        foreach (var step in steps)
        {
            if (Scalar(step, "run") is not { } run) continue;
            if (Regex.Match(run, @"dotnet tool install\b[^\n]*") is { Success: true } install)
                Assert.Contains($"--version {Version()}", install.Value);
            foreach (Match m in Regex.Matches(run, @"(?m)\bkubestead\s+(\S+)"))
            {
                if (OfflineCommands.Contains(m.Groups[1].Value)) continue;
                clusterSteps++;
                Assert.True(Env(step).ContainsKey("KUBECONFIG"), $"the step '{Scalar(step, "name") ?? run}' runs 'kubestead {m.Groups[1].Value}' without KUBECONFIG in its env");
            }
        }
        Assert.True(clusterSteps >= 3, $"expected the start, wait and report steps, found {clusterSteps}");
    }

    [Fact]
    public void The_azure_devops_example_downloads_its_secure_file_pins_the_module_and_fails_a_paused_rollout()
    {
        var steps = Steps(Load("examples/ci/azure-pipelines.yml"), "steps");
        var downloadedAt = steps.FindIndex(s => Scalar(s, "task") == "DownloadSecureFile@1" && Scalar(s, "name") == "kubeconfig");
        Assert.True(downloadedAt >= 0, "no DownloadSecureFile@1 step named 'kubeconfig': $(kubeconfig.secureFilePath) would be empty");
        var scripts = 0;
        for (var i = 0; i < steps.Count; i++)
        {
            if (Scalar(steps[i], "pwsh") is not { } script) continue;
            scripts++;
            Assert.Equal("$(kubeconfig.secureFilePath)", Env(steps[i]).GetValueOrDefault("KUBECONFIG"));
            Assert.True(i > downloadedAt, $"step {i} uses the secure file before it is downloaded");
            foreach (Match m in Regex.Matches(script, @"(Install|Import)-Module\s+Kubestead\b[^\n]*"))
                Assert.Contains($"-RequiredVersion {Version()}", m.Value);
            if (Regex.Match(script, @"'Paused'\s*\{[^\n]*") is { Success: true } paused)
            {
                Assert.DoesNotContain("SucceededWithIssues", paused.Value);
                Assert.Matches(@"exit\s+4", paused.Value);
            }
        }
        Assert.True(scripts >= 2);
    }

    private static string Version() =>
        XDocument.Load(Path.Combine(Root, "Directory.Build.props")).Descendants("Version").Single().Value;

    private static YamlMappingNode Load(string relative)
    {
        var yaml = new YamlStream();
        using var reader = new StreamReader(Path.Combine(Root, relative));
        yaml.Load(reader);
        return (YamlMappingNode)yaml.Documents[0].RootNode;
    }

    private static List<YamlMappingNode> Steps(YamlMappingNode root, params string[] path)
    {
        YamlNode node = root;
        foreach (var key in path) node = ((YamlMappingNode)node).Children[new YamlScalarNode(key)];
        return ((YamlSequenceNode)node).Children.Cast<YamlMappingNode>().ToList();
    }

    private static string? Scalar(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var value) && value is YamlScalarNode s ? s.Value : null;

    private static Dictionary<string, string?> Env(YamlMappingNode step) =>
        step.Children.TryGetValue(new YamlScalarNode("env"), out var env) && env is YamlMappingNode map
            ? map.Children.ToDictionary(kv => ((YamlScalarNode)kv.Key).Value!, kv => (kv.Value as YamlScalarNode)?.Value)
            : [];
}
