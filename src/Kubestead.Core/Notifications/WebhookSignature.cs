using System.Security.Cryptography;
using System.Text;

namespace Kubestead.Notifications;

/// <summary>
/// The generic webhook's signature: <c>X-Kubestead-Signature: v1=&lt;hex HMAC-SHA256(key, timestamp + "." + body)&gt;</c>
/// with <c>X-Kubestead-Timestamp</c> in Unix seconds. Signing the timestamp with the body lets a receiver refuse a
/// replayed message (an old timestamp) as well as a forged one.
/// </summary>
public static class WebhookSignature
{
    public const string SignatureHeader = "X-Kubestead-Signature";
    public const string TimestampHeader = "X-Kubestead-Timestamp";
    public const string Scheme = "v1=";

    public static string Sign(byte[] key, long unixSeconds, byte[] body)
    {
        var prefix = Encoding.UTF8.GetBytes(unixSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture) + ".");
        var signed = new byte[prefix.Length + body.Length];
        prefix.CopyTo(signed, 0);
        body.CopyTo(signed, prefix.Length);
        return Scheme + Convert.ToHexString(HMACSHA256.HashData(key, signed)).ToLowerInvariant();
    }

    /// <summary>What a receiver does: recompute and compare in constant time, and refuse timestamps outside the tolerance.</summary>
    public static bool Verify(byte[] key, string? timestamp, string? signature, byte[] body, DateTimeOffset now, TimeSpan tolerance)
    {
        if (timestamp is null || signature is null || !long.TryParse(timestamp, out var seconds)) return false;
        if ((now - DateTimeOffset.FromUnixTimeSeconds(seconds)).Duration() > tolerance) return false;
        var expected = Encoding.ASCII.GetBytes(Sign(key, seconds, body));
        return CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(signature));
    }
}
