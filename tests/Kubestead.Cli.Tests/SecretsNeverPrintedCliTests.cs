using System.Net;
using System.Security;
using System.Text;
using System.Text.Json.Nodes;
using Kubestead.Kubernetes;
using Kubestead.Sandbox.Demo;
using Kubestead.Tests.Shared;

namespace Kubestead.Cli.Tests;

/// <summary>
/// Issue 31's "no secret in any output": for each provider and credential kind, every secret is a unique marker held in
/// a Secret (or a token file), and the metrics server is hostile: it echoes every header and body it received (Basic
/// credentials decoded) into its error answers, in the provider's own error shape. Then validate, start, status,
/// history, analyze and report run, and everything they printed or wrote is searched for the marker: stdout, stderr
/// (the --verbose log), the CI step summary, the HTML report, and every object written to the cluster (the state
/// ConfigMap, Events, the Lease; the Secret itself aside).
/// </summary>
public class SecretsNeverPrintedCliTests
{
    private const string Creds = "{secret: {name: metrics-creds, key: value}}";
    private const string Guid1 = "0b7c3c55-5e8c-4c7e-9d53-3f0b8f6c1a20";

    /// <summary>Each case: a provider block (flow YAML; {URL} is the hostile server, {FILE} the token file), and whether the marker travels to the server.</summary>
    public static TheoryData<string, string, bool> Providers() => new()
    {
        { "prometheus-basicAuth", "prometheus: {address: \"{URL}\", builtin: istio, basicAuth: {username: reader, password: " + Creds + "}}", true },
        { "prometheus-bearerToken", "prometheus: {address: \"{URL}\", builtin: istio, bearerToken: " + Creds + "}", true },
        { "prometheus-oauth2", "prometheus: {address: \"{URL}\", builtin: istio, oauth2: {tokenUrl: \"{URL}token\", clientId: kubestead, clientSecret: " + Creds + "}}", true },
        { "prometheus-sigv4", "prometheus: {address: \"{URL}\", builtin: istio, sigv4: {region: us-west-2, accessKeyId: AKIAEXAMPLE, secretAccessKey: " + Creds + ", sessionToken: {secret: {name: metrics-creds, key: token}}}}", true },
        { "web-bearerToken", "web: {url: \"{URL}counts?w={{workload}}\", requestsPath: $.r, failuresPath: $.f, bearerToken: " + Creds + "}", true },
        { "datadog", "datadog: {address: \"{URL}\", apiKey: " + Creds + ", applicationKey: {secret: {name: metrics-creds, key: token}}, requestsQuery: \"sum:hits{kube_deployment:{{workload}}}.as_count()\", failuresQuery: \"sum:errors{kube_deployment:{{workload}}}.as_count()\"}", true },
        { "newRelic", "newRelic: {accountId: 1234567, address: \"{URL}\", apiKey: " + Creds + "}", true },
        { "appInsights-entraId", "appInsights: {appId: " + Guid1 + ", address: \"{URL}\", entraId: {tenantId: " + Guid1 + ", clientId: " + Guid1 + ", tokenFile: \"{FILE}\", authorityHost: \"{URL}\"}}", true },
        { "cloudWatch", "cloudWatch: {region: eu-west-1, address: \"{URL}\", namespace: AWS/ApplicationELB, requestsMetric: RequestCount, failuresMetric: HTTPCode_Target_5XX_Count, versionDimension: {name: TargetGroup}, accessKeyId: AKIAEXAMPLE, secretAccessKey: " + Creds + "}", false },
    };

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task No_secret_appears_in_anything_a_run_prints_or_writes(string name, string block, bool sent)
    {
        var marker = "MARK" + name.Replace("-", "") + "x" + Guid.NewGuid().ToString("N")[..12];
        var token = marker + "tok";
        var env = SandboxEnvironment.Create("istio", "healthy");
        env.Cluster.Seed(ResourceType.Secret, new JsonObject
        {
            ["apiVersion"] = "v1", ["kind"] = "Secret", ["metadata"] = new JsonObject { ["name"] = "metrics-creds", ["namespace"] = "shop" },
            ["data"] = new JsonObject { ["value"] = Base64(marker), ["token"] = Base64(token) },
        });
        var written = new List<string>();
        env.Cluster.Changed += (type, obj, _) =>
        {
            if (type != ResourceType.Secret && obj is not null) lock (written) written.Add(obj.ToJsonString());
        };
        using var server = new LoopbackReceiver("/") { Answer = Hostile(name) };
        var dir = Directory.CreateTempSubdirectory("kubestead-secrets-").FullName;
        try
        {
            var tokenFile = Path.Combine(dir, "federated-token");
            File.WriteAllText(tokenFile, marker);
            var demo = File.ReadAllText(Path.Combine(RepositoryRoot.Path, "examples", "sandbox", "istio.yaml"));
            var spec = demo.Replace("simulated: {}", block.Replace("{URL}", server.Url.ToString()).Replace("{FILE}", tokenFile), StringComparison.Ordinal);
            Assert.NotEqual(demo, spec);
            var specFile = Path.Combine(dir, "shop.yaml");
            File.WriteAllText(specFile, spec);
            var (summary, report) = (Path.Combine(dir, "summary.md"), Path.Combine(dir, "report.html"));
            var ci = new Dictionary<string, string?> { ["GITHUB_ACTIONS"] = "true", ["GITHUB_STEP_SUMMARY"] = summary };

            var runs = new List<(int Code, string Out, string Err)>
            {
                await InProcessCli.RunWithRealMetricsAsync(env, ci, "validate", "-f", specFile, "--cluster"),
                await InProcessCli.RunWithRealMetricsAsync(env, ci, "start", "-f", specFile, "--verbose"),
                await InProcessCli.RunWithRealMetricsAsync(env, ci, "status", "shop", "-n", "shop", "-o", "json"),
                await InProcessCli.RunWithRealMetricsAsync(env, ci, "history", "shop", "-n", "shop"),
                await InProcessCli.RunWithRealMetricsAsync(env, ci, "history", "shop", "-n", "shop", "-o", "json"),
                await InProcessCli.RunWithRealMetricsAsync(env, ci, "analyze", "shop", "-n", "shop"),
                await InProcessCli.RunWithRealMetricsAsync(env, ci, "report", "shop", "-n", "shop", "-o", report),
            };
            var printed = string.Join("\n", runs.Select(r => r.Out + r.Err));
            // The run reached the hostile server, and its errors (echoing the credentials) were reported: the search is not of silence.
            Assert.NotEmpty(server.Requests);
            Assert.Contains("answered HTTP", printed);
            if (sent)
                Assert.Contains(server.Requests, r => Echo(r).Contains(marker, StringComparison.Ordinal));
            Assert.True(File.Exists(report), printed);

            var everything = new List<(string Where, string Text)> { ("output", printed), ("report", File.ReadAllText(report)) };
            if (File.Exists(summary)) everything.Add(("step summary", File.ReadAllText(summary)));
            lock (written) everything.AddRange(written.Select(w => ("cluster write", w)));
            foreach (var (where, text) in everything)
                foreach (var secret in new[] { marker, token, Base64(marker), Base64(token) })
                    Assert.False(text.Contains(secret, StringComparison.Ordinal), $"{name}: the {where} holds a secret: {Around(text, secret)}");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string Base64(string value) => Convert.ToBase64String(Encoding.UTF8.GetBytes(value));

    private static string Around(string text, string secret)
    {
        var i = text.IndexOf(secret, StringComparison.Ordinal);
        return text.Substring(Math.Max(0, i - 200), Math.Min(text.Length - Math.Max(0, i - 200), 400 + secret.Length));
    }

    /// <summary>Everything a request carried: its headers, Basic credentials decoded, and its body.</summary>
    private static string Echo(LoopbackReceiver.Received r)
    {
        var text = new StringBuilder();
        foreach (var (key, value) in r.Headers)
        {
            text.Append(key).Append(": ").Append(value).Append(" | ");
            if (key.Equals("Authorization", StringComparison.OrdinalIgnoreCase) && value?.StartsWith("Basic ", StringComparison.Ordinal) == true)
                text.Append("decoded: ").Append(Encoding.UTF8.GetString(Convert.FromBase64String(value[6..]))).Append(" | ");
        }
        return text.Append(Encoding.UTF8.GetString(r.Body)).ToString();
    }

    /// <summary>
    /// A server that refuses everything and quotes what it received: the token endpoints as RFC 6749 errors, the first
    /// API request of each pair as a 401 with AWS's "message", the second as a 400 in the provider's error shape.
    /// </summary>
    private static Func<LoopbackReceiver.Received, (int, string, string)> Hostile(string name)
    {
        var count = 0;
        return r =>
        {
            var echo = Echo(r);
            var json = JsonValue.Create(echo).ToJsonString();
            if (r.Path.EndsWith("token", StringComparison.Ordinal))
                return ((int)HttpStatusCode.Unauthorized, "application/json", $"{{\"error\":\"invalid_client\",\"error_description\":{json}}}");
            if (Interlocked.Increment(ref count) % 2 == 1)
                return ((int)HttpStatusCode.Unauthorized, "application/json", $"{{\"message\":{json}}}");
            return name switch
            {
                "datadog" => (400, "application/json", $"{{\"errors\":[{json}]}}"),
                "newRelic" => (200, "application/json", $"{{\"errors\":[{{\"message\":{json},\"extensions\":{{\"errorClass\":\"BAD_REQUEST\"}}}}]}}"),
                "appInsights-entraId" => (400, "application/json", $"{{\"error\":{{\"code\":\"BadArgumentError\",\"message\":{json},\"innererror\":{{\"code\":\"SyntaxError\",\"message\":{json}}}}}}}"),
                "cloudWatch" => (400, "text/xml", $"<ErrorResponse><Error><Type>Sender</Type><Code>InvalidParameterValue</Code><Message>{SecurityElement.Escape(echo)}</Message></Error></ErrorResponse>"),
                _ => (400, "application/json", $"{{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":{json}}}"),
            };
        };
    }
}
