using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Kubestead.Core.Tests.Metrics.Connection;

/// <summary>A Kestrel server on 127.0.0.1 (a free port) answering with <c>handle</c>; it records every request's path, query and headers.</summary>
public sealed class LoopbackHttpServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private LoopbackHttpServer(WebApplication app) => _app = app;

    public Uri Address { get; private set; } = null!;

    public List<(string Method, string Path, string Query, Dictionary<string, string> Headers, string Body)> Requests { get; } = new();

    public static async Task<LoopbackHttpServer> StartAsync(Func<HttpContext, Task> handle)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var server = new LoopbackHttpServer(app);
        app.Run(async ctx =>
        {
            ctx.Request.EnableBuffering();
            var body = await new StreamReader(ctx.Request.Body, leaveOpen: true).ReadToEndAsync();
            ctx.Request.Body.Position = 0;
            lock (server.Requests)
                server.Requests.Add((ctx.Request.Method, ctx.Request.Path.Value ?? "", ctx.Request.QueryString.Value ?? "",
                    ctx.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase), body));
            await handle(ctx);
        });
        await app.StartAsync();
        server.Address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().TrimEnd('/') + "/");
        return server;
    }

    /// <summary>A Prometheus instant-vector answer with one series per (pod, value).</summary>
    public static string Vector(params (string Pod, double Value)[] series) =>
        "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[" +
        string.Join(",", series.Select(s => $"{{\"metric\":{{\"pod\":\"{s.Pod}\"}},\"value\":[1700000000,\"{s.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)}\"]}}")) + "]}}";

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
