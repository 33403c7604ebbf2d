using System.Diagnostics;

namespace Kubestead.Sandbox.Tests.RealCluster.Outage;

/// <summary>An outage test's private kube-apiserver must not outlive the test process when that process is killed.</summary>
public class PrivateApiServerLifetimeTests
{
    [RealClusterFact]
    public async Task A_private_server_stops_when_its_owner_process_is_killed()
    {
        using var owner = Process.Start(new ProcessStartInfo("sleep", "600") { UseShellExecute = false })!;
        using var server = await PrivateApiServer.StartAsync(owner.Id);
        var apiServerPid = server.ProcessId;
        Assert.True(IsRunning(apiServerPid));
        await server.StallAsync(); // a stalled server (as the stall test leaves it when killed) must be cleaned up too

        owner.Kill();
        await owner.WaitForExitAsync();

        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (IsRunning(apiServerPid) && DateTime.UtcNow < deadline) await Task.Delay(250);
        Assert.False(IsRunning(apiServerPid), $"kube-apiserver {apiServerPid} still runs after its owner was killed");
        while (Directory.Exists(server.WorkDir) && DateTime.UtcNow < deadline) await Task.Delay(250);
        Assert.False(Directory.Exists(server.WorkDir), $"{server.WorkDir} was left behind");
    }

    private static bool IsRunning(int pid)
    {
        // A zombie (exited, not yet reaped) counts as gone: its state in /proc/<pid>/stat is Z.
        var stat = $"/proc/{pid}/stat";
        if (!File.Exists(stat)) return false;
        try
        {
            var text = File.ReadAllText(stat);
            return text[(text.LastIndexOf(')') + 2)..][0] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }
}
