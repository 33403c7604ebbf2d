using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Kubestead.Sandbox.Namerd;

/// <summary>Serves an <see cref="EmulatedNamerd"/>'s HTTP controller on 127.0.0.1 (an ephemeral port unless given).</summary>
public sealed class EmulatedNamerdServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private EmulatedNamerdServer(WebApplication app, EmulatedNamerd namerd)
    {
        _app = app;
        Namerd = namerd;
    }

    public EmulatedNamerd Namerd { get; }

    public Uri Address { get; private set; } = new("http://127.0.0.1/");

    public static async Task<EmulatedNamerdServer> StartAsync(EmulatedNamerd namerd, int port = 0, CancellationToken ct = default)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<Microsoft.Extensions.Hosting.IHostLifetime, Server.EmbeddedHostLifetime>();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        var app = builder.Build();
        var server = new EmulatedNamerdServer(app, namerd);
        app.Run(server.HandleAsync);
        await app.StartAsync(ct).ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Address = new Uri(address.TrimEnd('/') + "/");
        return server;
    }

    private async Task HandleAsync(HttpContext http)
    {
        using var reader = new StreamReader(http.Request.Body);
        var body = await reader.ReadToEndAsync(http.RequestAborted).ConfigureAwait(false);
        var r = Namerd.Handle(http.Request.Method, http.Request.Path.ToString(), http.Request.Headers.Accept.ToString(),
            http.Request.ContentType, http.Request.Headers.IfMatch.Count > 0 ? http.Request.Headers.IfMatch.ToString() : null, body);
        http.Response.StatusCode = r.Status;
        if (r.ContentType is not null) http.Response.ContentType = r.ContentType;
        if (r.ETag is not null) http.Response.Headers.ETag = r.ETag;
        if (r.Body.Length > 0 && r.Status != 204 && !HttpMethods.IsHead(http.Request.Method))
            await http.Response.WriteAsync(r.Body, http.RequestAborted).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
