using System.Globalization;

namespace Kubestead.Metrics.CloudWatch;

/// <summary>
/// One GetMetricData call in CloudWatch's query protocol (the protocol its API reference documents): a form POST with
/// <c>Action</c>, <c>Version=2010-08-01</c>, and each list as <c>Name.member.N</c>, N from 1. Asks the requests and
/// failures metric of both versions at once, so a window costs one request.
/// </summary>
internal static class GetMetricDataForm
{
    /// <summary>The query ids (lower-case first, as CloudWatch requires) of the four series, by version and counter.</summary>
    public static string Id(bool canary, bool failures) => (canary ? "canary" : "control") + (failures ? "_failures" : "_requests");

    public static List<KeyValuePair<string, string>> Build(CloudWatchProviderSpec cw, string canaryValue, string controlValue,
        DateTimeOffset start, DateTimeOffset end, string? nextToken)
    {
        var form = new List<KeyValuePair<string, string>>
        {
            new("Action", "GetMetricData"), new("Version", "2010-08-01"),
            new("StartTime", Iso(start)), new("EndTime", Iso(end)), new("ScanBy", "TimestampAscending"),
        };
        var n = 0;
        foreach (var (canary, value) in new[] { (true, canaryValue), (false, controlValue) })
            foreach (var (failures, metric) in new[] { (false, cw.RequestsMetric), (true, cw.FailuresMetric) })
            {
                var q = $"MetricDataQueries.member.{++n}.";
                form.Add(new(q + "Id", Id(canary, failures)));
                form.Add(new(q + "MetricStat.Metric.Namespace", cw.Namespace));
                form.Add(new(q + "MetricStat.Metric.MetricName", metric));
                var d = 0;
                foreach (var (name, v) in cw.Dimensions.Append(new(cw.VersionDimension, value)))
                {
                    form.Add(new($"{q}MetricStat.Metric.Dimensions.member.{++d}.Name", name));
                    form.Add(new($"{q}MetricStat.Metric.Dimensions.member.{d}.Value", v));
                }
                form.Add(new(q + "MetricStat.Period", ((int)cw.Period.TotalSeconds).ToString(CultureInfo.InvariantCulture)));
                form.Add(new(q + "MetricStat.Stat", cw.Stat));
                form.Add(new(q + "ReturnData", "true"));
            }
        if (nextToken is not null) form.Add(new("NextToken", nextToken));
        return form;
    }

    private static string Iso(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
