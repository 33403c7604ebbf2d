using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Kubestead.Core.Tests.Metrics.Connection;

/// <summary>Skips with a message when nginx is not installed.</summary>
public sealed class NginxFactAttribute : FactAttribute
{
    public NginxFactAttribute()
    {
        Skip = NginxProxy.Binary is null ? "nginx is not installed (apt-get install nginx; tests/install-prereqs.sh does it)" : new PrometheusFactAttribute().Skip;
    }
}

/// <summary>
/// Debian's nginx in front of a local server, as a non-daemon child process with its own prefix and configuration in a
/// temporary directory, on a free 127.0.0.1 port. <c>serverBlock</c> is what goes inside <c>server { }</c> besides the
/// listen line and the proxying location.
/// </summary>
public sealed class NginxProxy : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _dir;
    private readonly StringBuilder _stderr;

    private NginxProxy(Process process, string dir, StringBuilder stderr, Uri address)
    {
        _process = process;
        _dir = dir;
        _stderr = stderr;
        Address = address;
    }

    public Uri Address { get; }

    public static string? Binary => new[] { "/usr/sbin/nginx", "/usr/bin/nginx" }.FirstOrDefault(File.Exists);

    /// <param name="locationBlock">Directives inside <c>location / { }</c> before the proxy_pass (checks that answer early).</param>
    public static async Task<NginxProxy> StartAsync(Uri upstream, bool tls, string serverBlock, string locationBlock = "")
    {
        var dir = Directory.CreateTempSubdirectory("kubestead-nginx-").FullName;
        foreach (var d in new[] { "logs", "tmp" }) Directory.CreateDirectory(Path.Combine(dir, d));
        var port = LoopbackPort.Free();
        // As root, nginx's workers would switch to "nobody", which cannot read the 0700 temporary directory.
        var user = Environment.UserName == "root" ? "user root;\n" : "";
        var tmp = Path.Combine(dir, "tmp");
        File.WriteAllText(Path.Combine(dir, "nginx.conf"), $$"""
            {{user}}worker_processes 1;
            pid {{dir}}/nginx.pid;
            error_log stderr warn;
            events { worker_connections 64; }
            http {
              access_log off;
              client_body_temp_path {{tmp}}/body; proxy_temp_path {{tmp}}/proxy; fastcgi_temp_path {{tmp}}/fastcgi;
              uwsgi_temp_path {{tmp}}/uwsgi; scgi_temp_path {{tmp}}/scgi;
              server {
                listen 127.0.0.1:{{port}}{{(tls ? " ssl" : "")}};
                {{serverBlock}}
                location / {
                  {{locationBlock}}
                  proxy_pass {{upstream.ToString().TrimEnd('/')}};
                }
              }
            }
            """);
        var psi = new ProcessStartInfo(Binary!) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { "-p", dir, "-c", Path.Combine(dir, "nginx.conf"), "-e", "stderr", "-g", "daemon off;" }) psi.ArgumentList.Add(a);
        var stderr = new StringBuilder();
        var process = Process.Start(psi)!;
        process.ErrorDataReceived += (_, e) => { lock (stderr) stderr.AppendLine(e.Data); };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        // A deadline, not a count of short sleeps: on a loaded machine nginx can take seconds to listen.
        var patience = Stopwatch.StartNew();
        while (patience.Elapsed < TimeSpan.FromMinutes(1))
        {
            if (process.HasExited) break;
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port);
                return new NginxProxy(process, dir, stderr, new Uri($"{(tls ? "https" : "http")}://127.0.0.1:{port}/"));
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
        }
        try { process.Kill(true); } catch (InvalidOperationException) { }
        throw new InvalidOperationException($"nginx did not listen on 127.0.0.1:{port}: {stderr}");
    }

    /// <summary>What nginx wrote to its error log (stderr).</summary>
    public string Log
    {
        get { lock (_stderr) return _stderr.ToString(); }
    }

    public async ValueTask DisposeAsync()
    {
        try { _process.Kill(true); await _process.WaitForExitAsync(); } catch (InvalidOperationException) { }
        _process.Dispose();
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }
}
