using System.Security.Cryptography;
using System.Text;
using Kubestead.Metrics.Aws;

namespace Kubestead.Core.Tests.Metrics.Aws;

/// <summary>
/// AWS Signature Version 4 against the values AWS publishes in its signing documentation (the signing-key derivation
/// example and the IAM ListUsers request), and canonical forms written out by hand from the documented rules for the
/// shapes AWS's test suite exercises: query ordering and encoding, header trimming and folding, path normalisation,
/// session tokens, payload hashes.
/// </summary>
public class SigV4SignerTests
{
    // AWS's documented example key pair (not a real credential).
    private const string ExampleSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    private static string CanonicalHash(string canonical) => SigV4Signer.Hex(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)));

    [Fact]
    public void The_signing_key_is_derived_as_the_documented_example_shows()
    {
        Assert.Equal("f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d",
            SigV4Signer.Hex(SigV4Signer.SigningKey(ExampleSecret, "20120215", "us-east-1", "iam")));
    }

    [Fact]
    public void The_documented_iam_request_gets_the_documented_canonical_request_and_signature()
    {
        var headers = new Dictionary<string, string>
        {
            ["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8", ["Host"] = "iam.amazonaws.com", ["X-Amz-Date"] = "20150830T123600Z",
        };
        var uri = new Uri("https://iam.amazonaws.com/?Version=2010-05-08&Action=ListUsers");
        var canonical = SigV4Signer.CanonicalRequest("GET", uri, headers, SigV4Signer.EmptyPayloadHash, "iam", out var signed);
        Assert.Equal("GET\n/\nAction=ListUsers&Version=2010-05-08\ncontent-type:application/x-www-form-urlencoded; charset=utf-8\nhost:iam.amazonaws.com\n" +
                     "x-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", canonical);
        Assert.Equal("f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59", CanonicalHash(canonical));
        Assert.Equal("content-type;host;x-amz-date", signed);
        Assert.Equal("5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
            SigV4Signer.Sign("GET", uri, headers, SigV4Signer.EmptyPayloadHash, ExampleSecret, "us-east-1", "iam", "20150830T123600Z", out _));
    }

    [Theory]
    // Parameters sorted by name, then by value; an empty value keeps its '='.
    [InlineData("/?b=2&a=2&a=1&c", "a=1&a=2&b=2&c=")]
    // Strict encoding: only A-Z a-z 0-9 - _ . ~ stay; space is %20 (never '+'), '+' and '/' are encoded, hex upper-case.
    [InlineData("/?q=sum%28x%7Bjob%3D%22a%20b%22%7D%29&t=1.5", "q=sum%28x%7Bjob%3D%22a%20b%22%7D%29&t=1.5")]
    [InlineData("/?k=a%2Bb%2Fc~d", "k=a%2Bb%2Fc~d")]
    [InlineData("/?%C3%A9t%C3%A9=%E2%9C%93", "%C3%A9t%C3%A9=%E2%9C%93")]
    [InlineData("/", "")]
    public void The_query_string_is_sorted_and_strictly_encoded(string pathAndQuery, string canonicalQuery)
    {
        var canonical = SigV4Signer.CanonicalRequest("GET", new Uri("https://example.amazonaws.com" + pathAndQuery),
            [new("Host", "example.amazonaws.com")], SigV4Signer.EmptyPayloadHash, "service", out _);
        Assert.Equal(canonicalQuery, canonical.Split('\n')[2]);
    }

    [Theory]
    // Dot segments and repeated slashes go; each segment is encoded, and encoded once more for every service but S3.
    [InlineData("/example/./../workspaces//ws-1/api/v1/query", "aps", "/workspaces/ws-1/api/v1/query")]
    [InlineData("/a%20b/c", "aps", "/a%2520b/c")]
    [InlineData("/a%20b/c", "s3", "/a%20b/c")]
    [InlineData("/dir/", "aps", "/dir/")]
    public void The_path_is_normalised_and_encoded(string path, string service, string canonicalPath)
    {
        var canonical = SigV4Signer.CanonicalRequest("GET", new Uri("https://example.amazonaws.com" + path), [new("Host", "example.amazonaws.com")],
            SigV4Signer.EmptyPayloadHash, service, out _);
        Assert.Equal(canonicalPath, canonical.Split('\n')[1]);
    }

    [Fact]
    public void Header_names_are_lowered_and_sorted_values_trimmed_and_a_repeated_header_folded()
    {
        var canonical = SigV4Signer.CanonicalRequest("post", new Uri("https://example.amazonaws.com/"),
            [new("X-Amz-Date", "20260102T030405Z"), new("My-Header1", "  value1  with   spaces "), new("Host", "example.amazonaws.com"),
             new("my-header2", "b"), new("My-Header2", "a")],
            "abc", "service", out var signed);
        Assert.Equal("POST\n/\n\nhost:example.amazonaws.com\nmy-header1:value1 with spaces\nmy-header2:b,a\nx-amz-date:20260102T030405Z\n\n" +
                     "host;my-header1;my-header2;x-amz-date\nabc", canonical);
        Assert.Equal("host;my-header1;my-header2;x-amz-date", signed);
    }

    [Fact]
    public async Task A_signed_request_carries_its_date_session_token_and_the_hash_of_its_body()
    {
        var at = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);
        var credentials = new AwsCredentials("AKIDEXAMPLE", ExampleSecret, "session-token-value", "test");
        using var request = new HttpRequestMessage(HttpMethod.Post, "https://monitoring.eu-west-1.amazonaws.com/")
        {
            Content = new StringContent("Action=GetMetricData&Version=2010-08-01", Encoding.UTF8, "application/x-www-form-urlencoded"),
        };
        await SigV4Signer.SignAsync(request, credentials, "eu-west-1", "monitoring", at, CancellationToken.None);

        Assert.Equal("20260102T030405Z", request.Headers.GetValues("X-Amz-Date").Single());
        Assert.Equal("session-token-value", request.Headers.GetValues("X-Amz-Security-Token").Single());
        var authorization = request.Headers.GetValues("Authorization").Single();
        const string signedHeaders = "content-type;host;x-amz-date;x-amz-security-token";
        Assert.Equal($"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260102/eu-west-1/monitoring/aws4_request, SignedHeaders={signedHeaders}, Signature=", authorization[..authorization.IndexOf("Signature=", StringComparison.Ordinal)] + "Signature=");
        // The signature is over the documented canonical form of exactly this request, the body's hash included.
        var canonical = "POST\n/\n\ncontent-type:application/x-www-form-urlencoded; charset=utf-8\nhost:monitoring.eu-west-1.amazonaws.com\n" +
                        "x-amz-date:20260102T030405Z\nx-amz-security-token:session-token-value\n\n" + signedHeaders + "\n" +
                        SigV4Signer.Hex(SHA256.HashData(Encoding.UTF8.GetBytes("Action=GetMetricData&Version=2010-08-01")));
        var stringToSign = "AWS4-HMAC-SHA256\n20260102T030405Z\n20260102/eu-west-1/monitoring/aws4_request\n" + CanonicalHash(canonical);
        var expected = SigV4Signer.Hex(HMACSHA256.HashData(SigV4Signer.SigningKey(ExampleSecret, "20260102", "eu-west-1", "monitoring"), Encoding.UTF8.GetBytes(stringToSign)));
        Assert.EndsWith("Signature=" + expected, authorization);
        Assert.DoesNotContain(ExampleSecret, authorization + credentials);
    }

    [Fact]
    public async Task Signing_again_replaces_the_previous_signature_instead_of_adding_a_second()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "https://aps-workspaces.us-west-2.amazonaws.com/workspaces/ws-1/api/v1/query?query=up");
        var credentials = new AwsCredentials("AKIDEXAMPLE", ExampleSecret, null, "test");
        await SigV4Signer.SignAsync(request, credentials, "us-west-2", "aps", DateTimeOffset.UnixEpoch, CancellationToken.None);
        await SigV4Signer.SignAsync(request, credentials, "us-west-2", "aps", DateTimeOffset.UnixEpoch.AddDays(1), CancellationToken.None);
        Assert.Single(request.Headers.GetValues("Authorization"));
        Assert.Equal("19700102T000000Z", request.Headers.GetValues("X-Amz-Date").Single());
        Assert.Contains("SignedHeaders=host;x-amz-date,", request.Headers.GetValues("Authorization").Single());
        Assert.False(request.Headers.Contains("X-Amz-Security-Token"));
    }
}
