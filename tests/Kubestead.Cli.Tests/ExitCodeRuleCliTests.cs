using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Kubestead.Sandbox.Demo;
using Kubestead.Tests.Shared;

namespace Kubestead.Cli.Tests;

/// <summary>
/// Issue #26 item 11: commands that move a rollout exit by its phase, commands that only read it exit 0 whatever the
/// phase (ExitCodeRule.Text), and the help and docs/cli.md say so in the same words.
/// </summary>
public class ExitCodeRuleCliTests
{
    private static Task<(int Code, string Out, string Err)> Run(SandboxEnvironment env, params string[] args) => InProcessCli.RunAsync(env, args);

    [Fact]
    public async Task Commands_that_move_a_rollout_exit_by_its_phase_and_commands_that_read_it_exit_0()
    {
        var env = SandboxEnvironment.Create("istio", "healthy");
        var spec = Path.Combine(RepositoryRoot.Path, "examples", "sandbox", "istio.yaml");
        Assert.Equal(ExitCodes.Success, (await Run(env, "start", "-f", spec, "--no-wait")).Code);

        Assert.Equal(ExitCodes.Paused, (await Run(env, "pause", "shop", "-n", "shop")).Code);
        Assert.Equal(ExitCodes.Success, (await Run(env, "status", "shop", "-n", "shop")).Code);

        Assert.Equal(ExitCodes.RolledBack, (await Run(env, "abort", "shop", "-n", "shop")).Code);
        var status = await Run(env, "status", "shop", "-n", "shop", "-o", "json");
        Assert.Equal(ExitCodes.Success, status.Code);
        Assert.Equal("aborted", JsonNode.Parse(status.Out)!["phase"]!.GetValue<string>());
        Assert.Equal(ExitCodes.Success, (await Run(env, "status", "-n", "shop")).Code);
        Assert.Equal(ExitCodes.Success, (await Run(env, "history", "shop", "-n", "shop")).Code);
        // wait reports the outcome even when there is nothing left to drive.
        Assert.Equal(ExitCodes.RolledBack, (await Run(env, "wait", "shop", "-n", "shop")).Code);
    }

    [Fact]
    public async Task The_help_and_docs_cli_md_state_the_same_rule()
    {
        var help = await InProcessCli.RunAsync(null, (Dictionary<string, string?>?)null, "--help");
        Assert.Equal(ExitCodes.Success, help.Code);
        Assert.Contains(ExitCodeRule.Text, OneLine(help.Out));
        Assert.Contains(ExitCodeRule.Text, OneLine(File.ReadAllText(Path.Combine(RepositoryRoot.Path, "docs", "cli.md"))));
    }

    /// <summary>The help wraps and indents long lines; the rule is compared as words.</summary>
    private static string OneLine(string text) => Regex.Replace(text, @"\s+", " ");
}
