using System.Diagnostics;

namespace Kubestead.Sandbox.Tests.Server;

/// <summary>Skips with a message when kubectl is not on PATH.</summary>
public sealed class KubectlFactAttribute : FactAttribute
{
    public KubectlFactAttribute()
    {
        if (KubectlTests.Kubectl is null) Skip = "kubectl is not on PATH: install kubectl to check the sandbox against the real client";
    }
}

public class KubectlTests : IAsyncLifetime
{
    public static string? Kubectl { get; } = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':')
        .Select(d => Path.Combine(d, "kubectl")).FirstOrDefault(File.Exists);

    private SandboxServerFixture _f = null!;

    public async Task InitializeAsync() => _f = await SandboxServerFixture.StartAsync();

    public async Task DisposeAsync() => await _f.DisposeAsync();

    private async Task<(int Code, string Out, string Err)> RunAsync(string args, string? stdin = null, string? patch = null)
    {
        var psi = new ProcessStartInfo(Kubectl!)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
        };
        psi.ArgumentList.Add("--kubeconfig");
        psi.ArgumentList.Add(_f.Kubeconfig);
        foreach (var a in args.Split(' ', StringSplitOptions.RemoveEmptyEntries)) psi.ArgumentList.Add(a);
        if (patch is not null)
        {
            psi.ArgumentList.Add("-p");
            psi.ArgumentList.Add(patch);
        }
        psi.Environment["HOME"] = Path.GetTempPath(); // no user cache or config leaks in
        using var p = Process.Start(psi)!;
        if (stdin is not null) await p.StandardInput.WriteAsync(stdin);
        p.StandardInput.Close();
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await p.WaitForExitAsync(cts.Token);
        return (p.ExitCode, await output, await error);
    }

    [KubectlFact]
    public async Task Kubectl_creates_gets_patches_and_deletes_against_the_sandbox()
    {
        const string manifest = """
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: shop-settings
              namespace: web
            data:
              weight: "5"
            """;
        var create = await RunAsync("create --validate=false -f -", manifest);
        Assert.True(create.Code == 0, create.Err);
        Assert.Contains("configmap/shop-settings created", create.Out);

        var get = await RunAsync("get configmap shop-settings -o jsonpath={.data.weight}");
        Assert.True(get.Code == 0, get.Err);
        Assert.Equal("5", get.Out.Trim());

        var jsonPatch = await RunAsync("patch configmap shop-settings --type=json", patch: """[{"op":"replace","path":"/data/weight","value":"25"}]""");
        Assert.True(jsonPatch.Code == 0, jsonPatch.Err);
        var merge = await RunAsync("patch configmap shop-settings --type=merge", patch: """{"data":{"mode":"canary"}}""");
        Assert.True(merge.Code == 0, merge.Err);
        var after = _f.Cluster.Peek(Kubestead.Kubernetes.ResourceType.ConfigMap, "web", "shop-settings")!;
        Assert.Equal("25", after["data"]!["weight"]!.GetValue<string>());
        Assert.Equal("canary", after["data"]!["mode"]!.GetValue<string>());

        var list = await RunAsync("get configmaps");
        Assert.True(list.Code == 0, list.Err);
        Assert.Contains("shop-settings", list.Out);

        var delete = await RunAsync("delete configmap shop-settings");
        Assert.True(delete.Code == 0, delete.Err);
        Assert.Null(_f.Cluster.Peek(Kubestead.Kubernetes.ResourceType.ConfigMap, "web", "shop-settings"));

        var missing = await RunAsync("get configmap shop-settings");
        Assert.NotEqual(0, missing.Code);
        Assert.Contains("NotFound", missing.Err);
    }
}
