using System.Net;
using System.Text.Json.Nodes;
using Kubestead.Sandbox.Demo;
using Kubestead.Tests.Shared;

namespace Kubestead.Cli.Tests;

/// <summary>Issue #32 through the CLI: each webhook gate point blocks start (exit 4, paused) until it answers 2xx, then resume finishes.</summary>
public sealed class WebhookGateCliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kubestead-gate-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Task<(int Code, string Out, string Err)> Run(SandboxEnvironment env, params string[] args) => InProcessCli.RunAsync(env, args);

    private string SpecFile(string type, Uri url)
    {
        var urlFile = Path.Combine(_dir, "url");
        File.WriteAllText(urlFile, url.ToString());
        var spec = Path.Combine(_dir, "rollout.yaml");
        File.WriteAllText(spec, NoneMeshSpec.With(["setWeight: 20", "setWeight: 40"], $"  webhooks:\n    - {{name: gate, type: {type}, url: {{file: {urlFile}}}, timeout: 2s}}\n"));
        return spec;
    }

    [Theory]
    [InlineData("preRollout", 0)]
    [InlineData("confirmTrafficIncrease", 0)]
    [InlineData("confirmPromotion", 40)]
    public async Task A_gate_answering_403_pauses_start_and_resume_finishes_once_it_answers_200(string type, double weightAtGate)
    {
        using var receiver = new LoopbackReceiver("/approve/s3cr3t") { Status = HttpStatusCode.Forbidden };
        var env = SandboxEnvironment.Create("none", "healthy");
        var spec = SpecFile(type, receiver.Url);

        var start = await Run(env, "start", "-f", spec);
        Assert.True(start.Code == 4, start.Out + start.Err);
        var status = JsonNode.Parse((await Run(env, "status", "shop", "-n", "shop", "-o", "json")).Out)!;
        Assert.Equal("webhook", status["pauseReason"]!.GetValue<string>());
        Assert.Equal(weightAtGate, status["weights"]!["canary"]!.GetValue<double>());
        Assert.Contains($"webhook gate ({type}) failed: HTTP 403 Forbidden from http://127.0.0.1:{receiver.Url.Port}/…", status["message"]!.GetValue<string>());
        Assert.DoesNotContain("s3cr3t", start.Out + start.Err);

        receiver.Status = HttpStatusCode.OK;
        var resume = await Run(env, "resume", "shop", "-n", "shop", "-o", "json");
        Assert.True(resume.Code == 0, resume.Out + resume.Err);
        Assert.Equal("completed", JsonNode.Parse(resume.Out)!["phase"]!.GetValue<string>());
        var history = JsonNode.Parse((await Run(env, "history", "shop", "-n", "shop", "-o", "json")).Out)!.AsArray();
        Assert.Contains(history, h => h!["kind"]!.GetValue<string>() == "webhook" && h["message"]!.GetValue<string>().StartsWith($"webhook gate ({type}) passed: HTTP 200"));
        Assert.DoesNotContain("s3cr3t", history.ToJsonString());
    }
}
