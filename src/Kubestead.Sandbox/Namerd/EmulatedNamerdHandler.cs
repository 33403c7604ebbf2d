using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace Kubestead.Sandbox.Namerd;

/// <summary>
/// Sends HTTP requests straight to an <see cref="EmulatedNamerd"/> in this process (the demo's virtual clock needs no
/// sockets). <see cref="BeforeSend"/> and <see cref="AfterApply"/> let tests cut a request off before namerd sees it or
/// lose the answer after namerd applied it, as a dropped connection or a killed process would.
/// </summary>
public sealed class EmulatedNamerdHandler(EmulatedNamerd namerd) : HttpMessageHandler
{
    public Action<HttpRequestMessage>? BeforeSend { get; set; }

    public Action<HttpRequestMessage, int>? AfterApply { get; set; }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        BeforeSend?.Invoke(request);
        var body = request.Content is null ? "" : await request.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        var r = namerd.Handle(request.Method.Method, request.RequestUri!.AbsolutePath, request.Headers.Accept.ToString(),
            request.Content?.Headers.ContentType?.ToString(),
            request.Headers.TryGetValues("If-Match", out var m) ? m.First() : null, body);
        AfterApply?.Invoke(request, r.Status);
        var rsp = new HttpResponseMessage((HttpStatusCode)r.Status) { RequestMessage = request, Content = new StringContent(r.Body, Encoding.UTF8) };
        rsp.Content.Headers.ContentType = r.ContentType is null ? null : new MediaTypeHeaderValue(r.ContentType);
        if (r.ETag is not null) rsp.Headers.TryAddWithoutValidation("ETag", r.ETag);
        return rsp;
    }
}
