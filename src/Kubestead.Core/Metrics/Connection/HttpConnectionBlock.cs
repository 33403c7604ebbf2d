using System.Text.RegularExpressions;
using Kubestead.Kubernetes;
using Kubestead.Specs;
using YamlDotNet.RepresentationModel;

namespace Kubestead.Metrics.Connection;

/// <summary>
/// Reads the connection fields a provider block may carry: <c>basicAuth</c>, <c>bearerToken</c>, <c>oauth2</c>,
/// <c>tls</c>, <c>headers</c>. A credential is never written in the spec (the spec is stored in a ConfigMap):
/// it is <c>{file: path}</c> or <c>{secret: {name, key}}</c>. Problems never quote a value given for a credential.
/// </summary>
internal static partial class HttpConnectionBlock
{
    /// <summary>The keys this block reads, for the provider block's CheckKeys.</summary>
    public static readonly string[] Keys = ["basicAuth", "bearerToken", "oauth2", "entraId", "sigv4", "tls", "headers"];

    /// <summary>The Entra ID scope of Azure Monitor managed Prometheus (its query endpoint), the default of <c>entraId.scope</c>.</summary>
    public const string ManagedPrometheusScope = "https://prometheus.monitor.azure.com/.default";

    /// <param name="bearerTokenFile">The provider's older <c>bearerTokenFile</c> field, read as a bearerToken file.</param>
    /// <param name="https">Whether the address is https (tls settings apply to nothing otherwise).</param>
    /// <param name="entraScope">The scope an <c>entraId</c> token is asked for when the spec gives none (the provider's API).</param>
    public static HttpConnectionSpec? Read(SpecReader r, YamlMappingNode block, string path, string? bearerTokenFile, bool https,
        string entraScope = ManagedPrometheusScope, string sigv4Service = "aps")
    {
        var basic = ReadBasic(r, block, path);
        var bearer = Child(block, "bearerToken") is null ? null : Secret(r, block, "bearerToken", path, required: true, literalAllowed: false);
        if (bearerTokenFile is not null) bearer ??= new SecretSource(SpecReader.Join(path, "bearerTokenFile"), File: bearerTokenFile);
        var oauth2 = ReadOAuth2(r, block, path);
        var entra = ReadEntraId(r, block, path, entraScope);
        var sigv4 = ReadSigV4(r, block, path, sigv4Service);
        var kinds = new[]
            {
                ("basicAuth", basic is not null), ("bearerToken", Child(block, "bearerToken") is not null), ("bearerTokenFile", bearerTokenFile is not null),
                ("oauth2", oauth2 is not null), ("entraId", entra is not null), ("sigv4", sigv4 is not null),
            }
            .Where(k => k.Item2).Select(k => k.Item1).ToList();
        if (kinds.Count > 1)
            r.Problem(block, SpecReader.Join(path, kinds[1]), $"give one kind of authentication, not {string.Join(" and ", kinds)}");
        var tls = ReadTls(r, block, path, https);
        var headers = ReadHeaders(r, block, path);
        var spec = new HttpConnectionSpec(path, basic, bearer, oauth2, tls, headers, entra, SigV4: sigv4);
        return spec.IsPlain ? null : spec;
    }

    private static YamlNode? Child(YamlMappingNode map, string key) => SpecReader.Child(map, key);

    /// <summary>
    /// The absolute http(s) URL at <paramref name="key"/>: Given is false when the key is absent; Url is null when it is
    /// absent or refused (the problem names the field and shows the URL without user info). <paramref name="asBase"/>
    /// ends the path with '/', so relative API paths resolve below it.
    /// </summary>
    public static (bool Given, Uri? Url) HttpUrl(SpecReader r, YamlMappingNode map, string key, string path, bool required = false, bool asBase = false)
    {
        var text = r.Str(map, key, path, required);
        if (text is null) return (Child(map, key) is not null, null);
        if (Uri.TryCreate(asBase ? text.TrimEnd('/') + "/" : text, UriKind.Absolute, out var url) && url.Scheme is "http" or "https") return (true, url);
        r.Problem(Child(map, key), SpecReader.Join(path, key), $"'{UrlRedaction.Redact(text)}' is not an http(s) URL");
        return (true, null);
    }

    private static BasicAuthSpec? ReadBasic(SpecReader r, YamlMappingNode block, string path)
    {
        var map = r.Map(block, "basicAuth", path, required: false);
        if (map is null) return null;
        var p = SpecReader.Join(path, "basicAuth");
        r.CheckKeys(map, p, "username", "password");
        var user = Secret(r, map, "username", p, required: true, literalAllowed: true);
        var password = Secret(r, map, "password", p, required: true, literalAllowed: false);
        return user is null || password is null ? null : new BasicAuthSpec(p, user, password);
    }

    private static OAuth2Spec? ReadOAuth2(SpecReader r, YamlMappingNode block, string path)
    {
        var map = r.Map(block, "oauth2", path, required: false);
        if (map is null) return null;
        var p = SpecReader.Join(path, "oauth2");
        r.CheckKeys(map, p, "tokenUrl", "clientId", "clientSecret", "scopes");
        var (_, tokenUrl) = HttpUrl(r, map, "tokenUrl", p, required: true);
        var id = Secret(r, map, "clientId", p, required: true, literalAllowed: true);
        var secret = Secret(r, map, "clientSecret", p, required: true, literalAllowed: false);
        var scopes = new List<string>();
        if (r.Seq(map, "scopes", p, required: false) is { } seq)
            foreach (var (item, i) in seq.Children.Select((n, i) => (n, i)))
                if (item is YamlScalarNode { Value: { Length: > 0 } scope } && !scope.Contains(' ')) scopes.Add(scope);
                else r.Problem(item, $"{p}.scopes[{i}]", "must be one scope name (no spaces)");
        return tokenUrl is null || id is null || secret is null ? null : new OAuth2Spec(p, tokenUrl, id, secret, string.Join(' ', scopes));
    }

    /// <summary>
    /// <c>entraId: {tenantId, clientId, tokenFile, authorityHost, scope}</c>, every field optional: what is left out is
    /// read at run time from the workload identity webhook's variables. An empty map (<c>entraId: {}</c>) turns it on.
    /// </summary>
    private static EntraIdSpec? ReadEntraId(SpecReader r, YamlMappingNode block, string path, string defaultScope)
    {
        var map = r.Map(block, "entraId", path, required: false);
        if (map is null) return null;
        var p = SpecReader.Join(path, "entraId");
        r.CheckKeys(map, p, "tenantId", "clientId", "tokenFile", "authorityHost", "scope");
        var tenant = r.Str(map, "tenantId", p);
        if (tenant is not null && !EntraTenant().IsMatch(tenant))
            r.Problem(Child(map, "tenantId"), $"{p}.tenantId", $"'{tenant}' is not a tenant id (a GUID) or a domain name");
        var client = r.Str(map, "clientId", p);
        if (client is not null && !Guid.TryParse(client, out _))
            r.Problem(Child(map, "clientId"), $"{p}.clientId", $"'{client}' is not an application (client) id, which is a GUID");
        var tokenFile = r.Str(map, "tokenFile", p);
        var (_, authority) = HttpUrl(r, map, "authorityHost", p);
        var scope = r.Str(map, "scope", p) ?? defaultScope;
        if (scope.Contains(' ')) r.Problem(Child(map, "scope"), $"{p}.scope", "must be one scope (no spaces), such as https://prometheus.monitor.azure.com/.default");
        return new EntraIdSpec(p, tenant, client, tokenFile, authority, scope);
    }

    /// <summary>
    /// <c>sigv4: {region, service, accessKeyId, secretAccessKey, sessionToken}</c>: region is required (a signature is
    /// only valid for one); the key pair is given together or not at all (then the environment or the shared
    /// credentials file supplies it at run time, where the driver runs).
    /// </summary>
    internal static Aws.SigV4Spec? ReadSigV4(SpecReader r, YamlMappingNode block, string path, string defaultService)
    {
        var map = r.Map(block, "sigv4", path, required: false);
        if (map is null) return null;
        var p = SpecReader.Join(path, "sigv4");
        r.CheckKeys(map, p, "region", "service", "accessKeyId", "secretAccessKey", "sessionToken");
        return SigV4Fields(r, map, p, defaultService);
    }

    /// <summary>The sigv4 fields as they sit in <paramref name="map"/> (a sigv4 block, or a provider block that signs every request).</summary>
    internal static Aws.SigV4Spec? SigV4Fields(SpecReader r, YamlMappingNode map, string p, string defaultService)
    {
        var region = r.Str(map, "region", p, required: true);
        if (region is not null && !AwsRegion().IsMatch(region))
            r.Problem(Child(map, "region"), $"{p}.region", $"'{region}' is not an AWS region, such as us-east-1 or eu-west-2");
        var service = r.Str(map, "service", p) ?? defaultService;
        if (!AwsService().IsMatch(service))
            r.Problem(Child(map, "service"), $"{p}.service", $"'{service}' is not an AWS service signing name, such as aps or monitoring");
        var id = Child(map, "accessKeyId") is null ? null : Secret(r, map, "accessKeyId", p, required: true, literalAllowed: true);
        var secret = Child(map, "secretAccessKey") is null ? null : Secret(r, map, "secretAccessKey", p, required: true, literalAllowed: false);
        var token = Child(map, "sessionToken") is null ? null : Secret(r, map, "sessionToken", p, required: true, literalAllowed: false);
        if (Child(map, "accessKeyId") is null != (Child(map, "secretAccessKey") is null))
            r.Problem(map, $"{p}.{(Child(map, "accessKeyId") is null ? "accessKeyId" : "secretAccessKey")}",
                "give accessKeyId and secretAccessKey together, or neither (then AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or the shared credentials file are used)");
        else if (Child(map, "sessionToken") is not null && Child(map, "accessKeyId") is null)
            r.Problem(Child(map, "sessionToken"), $"{p}.sessionToken", "belongs to the accessKeyId and secretAccessKey it was issued with; give them too");
        return region is null ? null : new Aws.SigV4Spec(p, region, service, id, secret, token);
    }

    [GeneratedRegex(@"^[a-z]{2}(-[a-z]+)+-[0-9]+$")]
    private static partial Regex AwsRegion();

    [GeneratedRegex(@"^[a-z0-9][a-z0-9-]*$")]
    private static partial Regex AwsService();

    [GeneratedRegex(@"^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[a-zA-Z0-9]([-a-zA-Z0-9.]*[a-zA-Z0-9])?)$")]
    private static partial Regex EntraTenant();

    private static TlsSpec? ReadTls(SpecReader r, YamlMappingNode block, string path, bool https)
    {
        var map = r.Map(block, "tls", path, required: false);
        if (map is null) return null;
        var p = SpecReader.Join(path, "tls");
        r.CheckKeys(map, p, "caFile", "certFile", "keyFile", "serverName", "insecureSkipVerify");
        var ca = r.Str(map, "caFile", p);
        var cert = r.Str(map, "certFile", p);
        var key = r.Str(map, "keyFile", p);
        var serverName = r.Str(map, "serverName", p);
        var skip = r.Bool(map, "insecureSkipVerify", p, false) ?? false;
        if (cert is null != key is null)
            r.Problem(map, $"{p}.{(cert is null ? "certFile" : "keyFile")}", "a client certificate needs both certFile and keyFile");
        if (skip && (ca is not null || serverName is not null))
            r.Problem(Child(map, "insecureSkipVerify"), $"{p}.insecureSkipVerify", "checks nothing, so caFile and serverName would be ignored: remove one or the other");
        if (!https)
            r.Problem(map, p, "applies to https addresses only; the address is http");
        return new TlsSpec(p, ca, cert, key, serverName, skip);
    }

    private static IReadOnlyList<KeyValuePair<string, string>>? ReadHeaders(SpecReader r, YamlMappingNode block, string path)
    {
        var map = r.Map(block, "headers", path, required: false);
        if (map is null) return null;
        var p = SpecReader.Join(path, "headers");
        var headers = new List<KeyValuePair<string, string>>();
        foreach (var (keyNode, valueNode) in map.Children)
        {
            var name = (keyNode as YamlScalarNode)?.Value ?? "";
            var field = SpecReader.Join(p, name);
            if (!HeaderName().IsMatch(name))
                r.Problem(keyNode, field, "is not an HTTP header name");
            else if (name.Equals("Authorization", StringComparison.OrdinalIgnoreCase) || name.Equals("Cookie", StringComparison.OrdinalIgnoreCase))
                // Credentials written here would be stored in the rollout's ConfigMap in plain text.
                r.Problem(keyNode, field, "carries credentials: use basicAuth, bearerToken or oauth2, which read them from a file or Secret");
            else if (valueNode is YamlScalarNode { Value: { } value } && !value.Contains('\n') && !value.Contains('\r'))
                headers.Add(new(name, value));
            else
                r.Problem(valueNode, field, "must be one line of text");
        }
        return headers;
    }

    /// <summary>
    /// A value from <c>{file: path}</c> or <c>{secret: {name, key}}</c>, or (<paramref name="literalAllowed"/>) a plain
    /// string. A plain string where a credential is asked for is refused without being quoted.
    /// </summary>
    internal static SecretSource? Secret(SpecReader r, YamlMappingNode parent, string key, string path, bool required, bool literalAllowed)
    {
        var field = SpecReader.Join(path, key);
        var node = Child(parent, key);
        if (node is null || SpecReader.IsNull(node))
        {
            if (required) r.Problem(parent, field, "required field is missing");
            return null;
        }
        if (node is YamlScalarNode scalar)
        {
            if (literalAllowed && scalar.Value is { Length: > 0 } literal) return new SecretSource(field, Literal: literal);
            r.Problem(node, field, literalAllowed ? "must not be empty"
                : "must not be written in the spec (it is stored in a ConfigMap): give {file: <path>} or {secret: {name: <Secret>, key: <key>}}");
            return null;
        }
        if (node is not YamlMappingNode map)
        {
            r.Problem(node, field, "must be {file: <path>} or {secret: {name: <Secret>, key: <key>}}");
            return null;
        }
        r.CheckKeys(map, field, "file", "secret");
        var file = r.Str(map, "file", field);
        var secretMap = r.Map(map, "secret", field, required: false);
        if (file is null == secretMap is null)
        {
            r.Problem(map, field, "give exactly one of file or secret");
            return null;
        }
        if (file is not null) return new SecretSource(field, File: file);
        var sp = SpecReader.Join(field, "secret");
        r.CheckKeys(secretMap!, sp, "name", "key");
        var name = r.Name(secretMap, "name", sp, required: true);
        var secretKey = r.Str(secretMap, "key", sp, required: true);
        if (secretKey is not null && !SecretKey().IsMatch(secretKey))
        {
            r.Problem(Child(secretMap!, "key"), $"{sp}.key", $"'{secretKey}' is not a Secret key (letters, digits, '-', '_', '.')");
            return null;
        }
        return name is null || secretKey is null ? null : new SecretSource(field, Secret: new SecretKeyRef(name, secretKey));
    }

    [GeneratedRegex("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")]
    private static partial Regex HeaderName();

    [GeneratedRegex("^[-._a-zA-Z0-9]{1,253}$")]
    private static partial Regex SecretKey();
}
