using System.Text.Json.Nodes;
using Kubestead.Sandbox.Demo;
using Kubestead.Tests.Shared;

namespace Kubestead.Cli.Tests;

/// <summary>Issue #32 item 2 through the CLI: an approval step pauses until `approve`, which records who and when.</summary>
public class ApprovalCliTests
{
    private static Task<(int Code, string Out, string Err)> Run(SandboxEnvironment env, params string[] args) => InProcessCli.RunAsync(env, args);

    [Fact]
    public async Task An_approval_gate_pauses_start_refuses_resume_and_passes_with_approve_recording_who()
    {
        var env = SandboxEnvironment.Create("none", "healthy");
        var spec = Path.Combine(Path.GetTempPath(), $"kubestead-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(spec, NoneMeshSpec.With(["setWeight: 20", "approval: {}", "setWeight: 40"]));
        Assert.Equal(4, (await Run(env, "start", "-f", spec)).Code);
        var status = JsonNode.Parse((await Run(env, "status", "shop", "-n", "shop", "-o", "json")).Out)!;
        Assert.Contains("waiting for approval", status["message"]!.GetValue<string>());

        var resume = await Run(env, "resume", "shop", "-n", "shop");
        Assert.NotEqual(0, resume.Code);
        Assert.Contains("approval gate: approve it", resume.Err);

        var dry = await Run(env, "approve", "shop", "-n", "shop", "--by", "alice", "--dry-run");
        Assert.Equal(0, dry.Code);
        Assert.Contains("record the approval of the current approval step by alice", dry.Out);
        Assert.Contains("waiting for approval", JsonNode.Parse((await Run(env, "status", "shop", "-n", "shop", "-o", "json")).Out)!["message"]!.GetValue<string>());

        var approved = await Run(env, "approve", "shop", "-n", "shop", "--by", "alice", "-o", "json");
        Assert.True(approved.Code == 0, approved.Err);
        Assert.Equal("completed", JsonNode.Parse(approved.Out)!["phase"]!.GetValue<string>());

        var history = await Run(env, "history", "shop", "-n", "shop", "-o", "json");
        var entry = JsonNode.Parse(history.Out)!.AsArray().Single(h => h!["kind"]!.GetValue<string>() == "approve")!;
        Assert.Equal("step 2 approved by alice", entry["message"]!.GetValue<string>());
        Assert.Equal(env.Clock.GetUtcNow().Year, DateTimeOffset.Parse(entry["at"]!.GetValue<string>()).Year);

        var again = await Run(env, "approve", "shop", "-n", "shop");
        Assert.NotEqual(0, again.Code);
        Assert.Contains("Rollout 'shop' is Completed", again.Err);
    }
}
