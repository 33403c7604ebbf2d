using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Kubestead.Core.Tests.Metrics.Connection;

/// <summary>Skips with a message when VictoriaMetrics or Prometheus is not installed.</summary>
public sealed class VictoriaMetricsFactAttribute : FactAttribute
{
    public VictoriaMetricsFactAttribute()
    {
        Skip = PrometheusServer.Find("victoria-metrics") is null
            ? "victoria-metrics is not on PATH (apt-get install victoria-metrics; tests/install-prereqs.sh does it)"
            : new PrometheusFactAttribute().Skip;
    }
}

/// <summary>Debian's single-node VictoriaMetrics on a free 127.0.0.1 port, holding the samples of an OpenMetrics text; stopped on dispose.</summary>
public sealed class VictoriaMetricsServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _dir;

    private VictoriaMetricsServer(Process process, string dir, Uri address)
    {
        _process = process;
        _dir = dir;
        Address = address;
    }

    public Uri Address { get; }

    public static async Task<VictoriaMetricsServer> StartAsync(string openMetrics)
    {
        var dir = Directory.CreateTempSubdirectory("kubestead-vm-").FullName;
        var port = LoopbackPort.Free();
        var psi = new ProcessStartInfo(PrometheusServer.Find("victoria-metrics")!) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { $"-storageDataPath={dir}", $"-httpListenAddr=127.0.0.1:{port}", "-search.disableCache", "-loggerLevel=ERROR" })
            psi.ArgumentList.Add(a);
        var process = Process.Start(psi)!;
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        var address = new Uri($"http://127.0.0.1:{port}/");
        var server = new VictoriaMetricsServer(process, dir, address);
        using var http = new HttpClient();
        for (var i = 0; ; i++)
        {
            try
            {
                if ((await http.GetAsync(new Uri(address, "health"))).IsSuccessStatusCode) break;
            }
            catch (HttpRequestException) when (i < 300 && !process.HasExited)
            {
                await Task.Delay(100);
            }
        }
        // The Prometheus text import takes millisecond timestamps where OpenMetrics has seconds.
        var text = new StringBuilder();
        foreach (var line in openMetrics.Split('\n').Where(l => l.Length > 0 && !l.StartsWith('#')))
        {
            var cut = line.LastIndexOf(' ');
            text.Append(line[..cut]).Append(' ')
                .Append((long)(double.Parse(line[(cut + 1)..], CultureInfo.InvariantCulture) * 1000)).Append('\n');
        }
        (await http.PostAsync(new Uri(address, "api/v1/import/prometheus"), new StringContent(text.ToString()))).EnsureSuccessStatusCode();
        // Imported rows are buffered before they are searchable.
        (await http.GetAsync(new Uri(address, "internal/force_flush"))).EnsureSuccessStatusCode();
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        try { _process.Kill(true); await _process.WaitForExitAsync(); } catch (InvalidOperationException) { }
        _process.Dispose();
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }
}
