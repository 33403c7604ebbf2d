using System.Text.Json.Nodes;
using Kubestead.Kubernetes;

namespace Kubestead.Core.Tests;

public class JsonPatchTests
{
    private static JsonNode Doc() => JsonNode.Parse("""
        {"spec":{"http":[{"name":"primary","route":[{"destination":{"host":"shop","subset":"stable"},"weight":100},
                                                    {"destination":{"host":"shop","subset":"canary"},"weight":0}],
                          "retries":{"attempts":3}}]},"a/b":{"m~n":1}}
        """)!;

    [Fact]
    public void Replace_with_passing_test_changes_only_the_targeted_field()
    {
        var patch = new JsonPatch([
            JsonPatchOperation.Test("/spec/http/0/route/1/destination/subset", "canary"),
            JsonPatchOperation.Replace("/spec/http/0/route/0/weight", 90),
            JsonPatchOperation.Replace("/spec/http/0/route/1/weight", 10),
        ]);
        var before = Doc();
        var after = patch.Apply(before);
        Assert.Equal(90, after["spec"]!["http"]![0]!["route"]![0]!["weight"]!.GetValue<int>());
        Assert.Equal(10, after["spec"]!["http"]![0]!["route"]![1]!["weight"]!.GetValue<int>());
        Assert.Equal(3, after["spec"]!["http"]![0]!["retries"]!["attempts"]!.GetValue<int>());
        Assert.Equal(100, before["spec"]!["http"]![0]!["route"]![0]!["weight"]!.GetValue<int>()); // input untouched
    }

    [Fact]
    public void Failed_test_throws_a_test_failure_and_applies_nothing()
    {
        var patch = new JsonPatch([
            JsonPatchOperation.Replace("/spec/http/0/route/0/weight", 50),
            JsonPatchOperation.Test("/spec/http/0/route/1/destination/subset", "other"),
        ]);
        var doc = Doc();
        var ex = Assert.Throws<JsonPatchException>(() => patch.Apply(doc));
        Assert.True(ex.IsTestFailure);
        Assert.Contains("/spec/http/0/route/1/destination/subset", ex.Message);
        Assert.Equal(100, doc["spec"]!["http"]![0]!["route"]![0]!["weight"]!.GetValue<int>());
    }

    [Fact]
    public void Pointer_escapes_and_array_add_remove_move_copy_work()
    {
        var patch = new JsonPatch([
            JsonPatchOperation.Test("/a~1b/m~0n", 1),
            JsonPatchOperation.Add("/spec/http/0", new JsonObject { ["name"] = "kubestead-header" }),
            new JsonPatchOperation("copy", "/spec/http/-", From: "/spec/http/0"),
            new JsonPatchOperation("move", "/moved", From: "/a~1b"),
            JsonPatchOperation.Remove("/spec/http/2"),
        ]);
        var after = patch.Apply(Doc());
        Assert.Equal("kubestead-header", after["spec"]!["http"]![0]!["name"]!.GetValue<string>());
        Assert.Equal("primary", after["spec"]!["http"]![1]!["name"]!.GetValue<string>());
        Assert.Equal(2, after["spec"]!["http"]!.AsArray().Count);
        Assert.Null(after["a/b"]);
        Assert.Equal(1, after["moved"]!["m~n"]!.GetValue<int>());
    }

    [Theory]
    [InlineData("/spec/http/5/route")]
    [InlineData("/spec/http/01")]
    [InlineData("/nope/x")]
    public void Missing_paths_are_errors(string path)
    {
        var patch = new JsonPatch([JsonPatchOperation.Replace(path, 1)]);
        Assert.Throws<JsonPatchException>(() => patch.Apply(Doc()));
    }

    [Fact]
    public void Merge_patch_follows_rfc7386()
    {
        var target = JsonNode.Parse("""{"a":"b","c":{"d":"e","f":"g"}}""");
        var patch = new MergePatch(JsonNode.Parse("""{"a":"z","c":{"f":null}}""")!);
        var result = patch.Apply(target)!;
        Assert.Equal("""{"a":"z","c":{"d":"e"}}""", result.ToJsonString());
    }

    [Fact]
    public void Patch_round_trips_through_json()
    {
        var patch = new JsonPatch([JsonPatchOperation.Test("/x", 1), JsonPatchOperation.Remove("/y")]);
        var parsed = JsonPatch.Parse(patch.ToJson().AsArray());
        Assert.Equal(patch.ToJson().ToJsonString(), parsed.ToJson().ToJsonString());
    }
}
