using System.Text;
using Kubestead.Notifications;

namespace Kubestead.Core.Tests.Notifications;

public class WebhookSignatureTests
{
    private static readonly byte[] Key = Encoding.UTF8.GetBytes("k3y");
    private static readonly byte[] Body = Encoding.UTF8.GetBytes("""{"event":"promoted"}""");
    private static readonly DateTimeOffset Now = new(2026, 12, 5, 23, 0, 0, TimeSpan.Zero);

    [Fact]
    public void The_signature_is_hmac_sha256_over_timestamp_dot_body_and_verifies()
    {
        var ts = Now.ToUnixTimeSeconds();
        var signature = WebhookSignature.Sign(Key, ts, Body);

        // Computed independently: HMAC-SHA256("k3y", "<ts>.<body>").
        var expected = Convert.ToHexString(System.Security.Cryptography.HMACSHA256.HashData(Key, Encoding.UTF8.GetBytes($"{ts}.{{\"event\":\"promoted\"}}"))).ToLowerInvariant();
        Assert.Equal("v1=" + expected, signature);
        Assert.True(WebhookSignature.Verify(Key, ts.ToString(), signature, Body, Now, TimeSpan.FromMinutes(5)));
    }

    [Fact]
    public void A_changed_body_another_key_or_an_old_timestamp_does_not_verify()
    {
        var ts = Now.ToUnixTimeSeconds();
        var signature = WebhookSignature.Sign(Key, ts, Body);

        Assert.False(WebhookSignature.Verify(Key, ts.ToString(), signature, Encoding.UTF8.GetBytes("""{"event":"aborted"}"""), Now, TimeSpan.FromMinutes(5)));
        Assert.False(WebhookSignature.Verify(Encoding.UTF8.GetBytes("other"), ts.ToString(), signature, Body, Now, TimeSpan.FromMinutes(5)));
        Assert.False(WebhookSignature.Verify(Key, ts.ToString(), signature, Body, Now.AddMinutes(6), TimeSpan.FromMinutes(5)));
        Assert.False(WebhookSignature.Verify(Key, (ts + 1).ToString(), signature, Body, Now, TimeSpan.FromMinutes(5)));
    }
}
