using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Kubestead.Specs;

/// <summary>Parses and validates a rollout spec, reporting every problem at once with file, line and field.</summary>
public static partial class RolloutSpecParser
{
    public const string ApiVersion = "kubestead.io/v1alpha1";
    public const string Kind = "Rollout";

    private static readonly string[] TopKeys = ["apiVersion", "kind", "metadata", "spec"];
    private static readonly string[] SpecKeys =
        ["service", "meshProvider", "istio", "linkerd", "smi", "none", "nginx", "linkerd1", "stable", "canary", "baseline", "versionLabel", "steps", "analysis", "policies", "scaleDownDelay", "statusInterval", "notifications", "progressDeadline", "webhooks", "reportUrl", "controller"];
    private static readonly string[] StepKinds = ["setWeight", "pause", "analysis", "setHeaderRoute", "removeHeaderRoute", "approval"];

    public static SpecParseResult ParseFile(string path) => Parse(File.ReadAllText(path), path);

    /// <summary>The spec's YAML with a <c>spec.canary.manifest</c> file path replaced by the file's Deployment (for storing the spec).</summary>
    public static string InlineManifest(string yaml, string specFile) => CanaryTemplateSpec.InlineManifest(yaml, specFile);

    public static SpecParseResult Parse(string yaml, string? fileName = null)
    {
        var file = fileName ?? "<spec>";
        var r = new SpecReader(file);
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            r.Problems.Add(new SpecProblem(file, (int)e.Start.Line, (int)e.Start.Column, "(yaml)", $"not valid YAML: {e.InnerException?.Message ?? e.Message}"));
            return new SpecParseResult(null, r.Problems);
        }
        catch (InvalidOperationException e)
        {
            // YamlDotNet reports some malformed input this way, without a position.
            r.Problems.Add(new SpecProblem(file, 0, 0, "(yaml)", $"not valid YAML: {e.Message}"));
            return new SpecParseResult(null, r.Problems);
        }
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is YamlScalarNode { Value: "" or null })
        {
            r.Problems.Add(new SpecProblem(file, 0, 0, "(document)", "the file is empty; expected a kubestead.io/v1alpha1 Rollout"));
            return new SpecParseResult(null, r.Problems);
        }
        if (stream.Documents.Count > 1)
            r.Problem(stream.Documents[1].RootNode, "(document)", "the file holds more than one YAML document; put one Rollout per file");
        if (stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            r.Problem(stream.Documents[0].RootNode, "(document)", "expected a mapping with apiVersion, kind, metadata and spec");
            return new SpecParseResult(null, r.Problems);
        }

        r.Index(root);
        r.CheckKeys(root, "", TopKeys);
        var apiVersion = r.Str(root, "apiVersion", "", required: true);
        if (apiVersion is not null && apiVersion != ApiVersion)
            r.Problem(SpecReader.Child(root, "apiVersion"), "apiVersion", $"'{apiVersion}' is not supported; use {ApiVersion}");
        var kind = r.Str(root, "kind", "", required: true);
        if (kind is not null && kind != Kind)
            r.Problem(SpecReader.Child(root, "kind"), "kind", $"'{kind}' is not supported; use {Kind}");

        var metadata = r.Map(root, "metadata", "", required: true);
        if (metadata is not null) r.CheckKeys(metadata, "metadata", "name", "namespace", "labels", "annotations");
        // The state ConfigMap and Lease are named kubestead-<name>, so the name must leave room for the prefix.
        var name = r.Name(metadata, "name", "metadata", required: true, maxLength: 53);
        var ns = r.Name(metadata, "namespace", "metadata", maxLength: 63) ?? "default";

        var spec = r.Map(root, "spec", "", required: true);
        if (spec is null) return new SpecParseResult(null, r.Problems);
        r.CheckKeys(spec, "spec", SpecKeys);

        var service = r.Name(spec, "service", "spec", required: true);
        var mesh = r.Enum(spec, "meshProvider", "spec", MeshProviders.All, null, required: true);
        var versionLabel = r.Str(spec, "versionLabel", "spec") ?? "version";

        foreach (var other in MeshProviders.All.Where(m => m != mesh))
            if (SpecReader.Child(spec, other) is { } stray && mesh is not null)
                r.Problem(stray, $"spec.{other}", $"settings for '{other}' do not apply when meshProvider is '{mesh}'");

        var progressDeadline = r.Duration(spec, "progressDeadline", "spec", RolloutSpec.DefaultProgressDeadline, min: TimeSpan.FromSeconds(1))
                               ?? RolloutSpec.DefaultProgressDeadline;
        IstioSettings? istio = null;
        GatewayApiSettings? linkerd = null;
        SmiSettings? smi = null;
        NoMeshSettings? none = null;
        NginxSettings? nginx = null;
        Linkerd1Settings? linkerd1 = null;
        switch (mesh)
        {
            case MeshProviders.Istio: istio = ReadIstio(r, spec, service); break;
            case MeshProviders.Linkerd: linkerd = ReadLinkerd(r, spec, service); break;
            case MeshProviders.Smi: smi = ReadSmi(r, spec, service); break;
            case MeshProviders.None: none = ReadNone(r, spec, progressDeadline); break;
            case MeshProviders.Nginx: nginx = ReadNginx(r, spec, service); break;
            case MeshProviders.Linkerd1: linkerd1 = ReadLinkerd1(r, spec, service); break;
        }

        var stable = r.Map(spec, "stable", "spec", required: true);
        if (stable is not null) r.CheckKeys(stable, "spec.stable", "deployment");
        var stableDeployment = r.Name(stable, "deployment", "spec.stable", required: stable is not null);

        var canary = ReadCanary(r, spec, stableDeployment, file, versionLabel);

        string? baseline = null;
        var createBaseline = false;
        if (r.Map(spec, "baseline", "spec", required: false) is { } b)
        {
            r.CheckKeys(b, "spec.baseline", "deployment", "create");
            createBaseline = r.Bool(b, "create", "spec.baseline", false) ?? false;
            baseline = r.Name(b, "deployment", "spec.baseline", required: !createBaseline) ?? (createBaseline && stableDeployment is not null ? $"{stableDeployment}-baseline" : null);
            if (createBaseline) CheckCreatedBaseline(r, b, mesh, istio, baseline, stableDeployment, canary);
        }

        var analysis = ReadAnalysis(r, spec, mesh);
        var steps = ReadSteps(r, spec, analysis is not null, mesh);
        if (analysis is not null && analysis.StartingStep > Math.Max(0, steps.Count - 1) && steps.Count > 0)
            r.Problem(SpecReader.Child(SpecReader.Child(spec, "analysis") as YamlMappingNode, "startingStep"), "spec.analysis.startingStep",
                $"{analysis.StartingStep} is past the last step (there are {steps.Count} steps, numbered from 0)");
        if (nginx is not null) CheckNginxWeights(r, spec, nginx);
        var policies = ReadPolicies(r, spec);
        // Argo's default: sidecars keep sending in-flight requests to the canary for a few seconds after traffic moves.
        var scaleDownDelay = r.Duration(spec, "scaleDownDelay", "spec", TimeSpan.FromSeconds(30), min: TimeSpan.Zero) ?? TimeSpan.FromSeconds(30);
        var statusInterval = r.Duration(spec, "statusInterval", "spec", TimeSpan.FromMinutes(1), min: TimeSpan.Zero) ?? TimeSpan.FromMinutes(1);
        if (analysis is not null) CheckWarmups(r, spec, analysis, steps);
        var notifications = ReadNotifications(r, spec);
        var webhooks = ReadWebhooks(r, spec);
        var reportUrl = ReadReportUrl(r, spec);
        var controllerAdopt = ReadControllerAdopt(r, spec);

        if (createBaseline && SpecReader.Child(spec, "steps") is YamlSequenceNode stepNodes)
            foreach (var (step, i) in steps.Select((s, i) => (s, i)))
            {
                if (step is SetWeightStepSpec { Weight: > 50 } w && i < stepNodes.Children.Count)
                    r.Problem(stepNodes.Children[i], $"spec.steps[{i}].setWeight",
                        $"{w.Weight.ToString(CultureInfo.InvariantCulture)} is more than 50: the created baseline takes the canary's share too, so canary and baseline together would exceed 100%");
                else if (mesh == MeshProviders.None && step is SetWeightStepSpec { Weight: >= 50 } n && i < stepNodes.Children.Count)
                    r.Problem(stepNodes.Children[i], $"spec.steps[{i}].setWeight",
                        $"{n.Weight.ToString(CultureInfo.InvariantCulture)} is too much without a mesh and with a created baseline: canary and baseline would take {n.Weight.ToString(CultureInfo.InvariantCulture)}% each and leave stable's pods none, which pod counts cannot express (stable keeps its pods); use at most 49");
            }
        if (r.Problems.Count > 0 || name is null || service is null || mesh is null || stableDeployment is null || canary is null)
            return new SpecParseResult(null, r.Problems);
        return new SpecParseResult(new RolloutSpec(name, ns, service, mesh, istio, linkerd, smi, none, stableDeployment, canary, baseline,
            versionLabel, steps, analysis, policies) { ScaleDownDelay = scaleDownDelay, Nginx = nginx, Linkerd1 = linkerd1, CreateBaseline = createBaseline, StatusInterval = statusInterval, Notifications = notifications, ProgressDeadline = progressDeadline, Webhooks = webhooks, ReportUrl = reportUrl, ControllerAdopt = controllerAdopt }, r.Problems);
    }

    /// <summary>Meshes that can send a created baseline its own share of traffic (a three-way split).</summary>
    public static readonly string[] BaselineMeshes = [MeshProviders.Istio, MeshProviders.Linkerd, MeshProviders.Smi, MeshProviders.None];

    private static void CheckCreatedBaseline(SpecReader r, YamlMappingNode b, string? mesh, IstioSettings? istio, string? baseline, string? stableDeployment, CanarySpec? canary)
    {
        var why = mesh switch
        {
            MeshProviders.Nginx => "ingress-nginx splits a host between the stable Ingress and ONE canary Ingress (canary-weight), so a third version cannot get its own share",
            MeshProviders.Linkerd1 => "Kubestead's Linkerd 1.x router writes a two-way namerd dtab (stable and canary) and does not route a third destination",
            _ => "this mesh provider cannot give a third version its own share of traffic",
        };
        if (mesh is not null && !BaselineMeshes.Contains(mesh))
            r.Problem(SpecReader.Child(b, "create"), "spec.baseline.create",
                $"meshProvider {mesh} cannot give a created baseline its own share of traffic: {why} (supported: {string.Join(", ", BaselineMeshes)}); " +
                "name a baseline Deployment you route yourself in spec.baseline.deployment, or drop the baseline");
        if (mesh == MeshProviders.Istio && istio?.CanaryHost is not null)
            r.Problem(SpecReader.Child(b, "create"), "spec.baseline.create",
                "Istio host-based routing (spec.istio.hostBased) sends to two Services only; a created baseline needs subset mode (spec.istio.destinationRule), where Kubestead adds a 'baseline' subset");
        if (baseline is not null && (baseline == stableDeployment || baseline == canary?.Deployment || baseline == $"{stableDeployment}-canary"))
            r.Problem(SpecReader.Child(b, "deployment") ?? b, "spec.baseline.deployment", $"the baseline Deployment '{baseline}' must differ from the stable and canary Deployments");
    }

    private static IstioSettings? ReadIstio(SpecReader r, YamlMappingNode spec, string? service)
    {
        var m = r.Map(spec, "istio", "spec", required: true);
        if (m is null) return null;
        const string p = "spec.istio";
        r.CheckKeys(m, p, "virtualService", "destinationRule", "hostBased");
        var vs = r.Map(m, "virtualService", p, required: true);
        if (vs is not null) r.CheckKeys(vs, $"{p}.virtualService", "name", "route");
        var vsName = r.Name(vs, "name", $"{p}.virtualService", required: vs is not null);
        var route = r.Str(vs, "route", $"{p}.virtualService");
        var dr = r.Map(m, "destinationRule", p, required: false);
        var hosts = r.Map(m, "hostBased", p, required: false);
        if (dr is not null && hosts is not null)
            r.Problem(hosts, $"{p}.hostBased", "give either destinationRule (subsets) or hostBased (two Services), not both");
        if (dr is null && hosts is null)
            r.Problem(m, $"{p}.destinationRule", "required: destinationRule (subset mode) or hostBased (two Services)");
        string? drName = null, stableSubset = "stable", canarySubset = "canary", stableHost = null, canaryHost = null;
        if (dr is not null)
        {
            r.CheckKeys(dr, $"{p}.destinationRule", "name", "stableSubsetName", "canarySubsetName");
            drName = r.Name(dr, "name", $"{p}.destinationRule", required: true);
            stableSubset = r.Str(dr, "stableSubsetName", $"{p}.destinationRule") ?? "stable";
            canarySubset = r.Str(dr, "canarySubsetName", $"{p}.destinationRule") ?? "canary";
            if (stableSubset == canarySubset)
                r.Problem(dr, $"{p}.destinationRule.canarySubsetName", $"the canary subset must differ from the stable subset ('{stableSubset}')");
        }
        if (hosts is not null)
        {
            r.CheckKeys(hosts, $"{p}.hostBased", "stableService", "canaryService");
            stableHost = r.Name(hosts, "stableService", $"{p}.hostBased") ?? service;
            canaryHost = r.Name(hosts, "canaryService", $"{p}.hostBased", required: true);
        }
        return vsName is null ? null : new IstioSettings(vsName, route, drName, stableSubset, canarySubset, stableHost, canaryHost);
    }

    private static GatewayApiSettings? ReadLinkerd(SpecReader r, YamlMappingNode spec, string? service)
    {
        var m = r.Map(spec, "linkerd", "spec", required: false);
        const string p = "spec.linkerd";
        if (m is not null) r.CheckKeys(m, p, "httpRoute", "apiGroup", "canaryService", "stableService");
        var route = r.Name(m, "httpRoute", p);
        var group = r.Enum(m, "apiGroup", p, ["gateway.networking.k8s.io", "policy.linkerd.io"], "gateway.networking.k8s.io");
        var canarySvc = r.Name(m, "canaryService", p, maxLength: 63) ?? $"{service}-canary";
        var stableSvc = r.Name(m, "stableService", p, maxLength: 63);
        if (stableSvc is not null && stableSvc == canarySvc)
            r.Problem(SpecReader.Child(m!, "stableService"), $"{p}.stableService", $"the stable backend Service must differ from the canary Service ('{canarySvc}')");
        if (stableSvc is null && service is not null && service == canarySvc && m is not null)
            r.Problem(SpecReader.Child(m, "canaryService") ?? m, $"{p}.canaryService", $"the canary Service must differ from the stable backend Service ('{service}')");
        return group is null ? null : new GatewayApiSettings(route, group, canarySvc, stableSvc == service ? null : stableSvc);
    }

    private static SmiSettings? ReadSmi(SpecReader r, YamlMappingNode spec, string? service)
    {
        var m = r.Map(spec, "smi", "spec", required: false);
        const string p = "spec.smi";
        if (m is not null) r.CheckKeys(m, p, "trafficSplit", "apiVersion", "canaryService");
        var split = r.Name(m, "trafficSplit", p);
        var version = r.Enum(m, "apiVersion", p, ["split.smi-spec.io/v1alpha1", "split.smi-spec.io/v1alpha2", "split.smi-spec.io/v1alpha3", "split.smi-spec.io/v1alpha4"], null);
        var canarySvc = r.Name(m, "canaryService", p, maxLength: 63) ?? $"{service}-canary";
        return new SmiSettings(split, version, canarySvc);
    }

    private static NginxSettings? ReadNginx(SpecReader r, YamlMappingNode spec, string? service)
    {
        var m = r.Map(spec, "nginx", "spec", required: true);
        if (m is null) return null;
        const string p = "spec.nginx";
        r.CheckKeys(m, p, "ingress", "canaryIngress", "canaryService", "weightTotal");
        var ingress = r.Name(m, "ingress", p, required: true);
        var canaryIngress = r.Name(m, "canaryIngress", p);
        if (canaryIngress is not null && canaryIngress == ingress)
            r.Problem(SpecReader.Child(m, "canaryIngress"), $"{p}.canaryIngress", $"the canary Ingress must differ from the stable Ingress ('{ingress}'); Kubestead never writes the stable Ingress");
        var canarySvc = r.Name(m, "canaryService", p, maxLength: 63) ?? $"{service}-canary";
        if (canarySvc == service)
            r.Problem(SpecReader.Child(m, "canaryService"), $"{p}.canaryService", $"the canary Service must differ from spec.service ('{service}')");
        // ingress-nginx reads canary-weight-total as an integer and honours it only above 100 (its balancer starts from a
        // total of 100), so a smaller total would make every share Kubestead reports wrong.
        var total = r.Int(m, "weightTotal", p, 1, 1_000_000, 100) ?? 100;
        if (total < Traffic.NginxAnnotations.DefaultTotal)
            r.Problem(SpecReader.Child(m, "weightTotal"), $"{p}.weightTotal", Traffic.NginxAnnotations.TotalIgnoredMessage(total));
        return ingress is null ? null : new NginxSettings(ingress, canaryIngress, canarySvc, total);
    }

    /// <summary>Every setWeight must be a whole canary-weight out of weightTotal, or the step would fail mid-rollout.</summary>
    private static void CheckNginxWeights(SpecReader r, YamlMappingNode spec, NginxSettings nginx)
    {
        if (SpecReader.Child(spec, "steps") is not YamlSequenceNode seq) return;
        for (var i = 0; i < seq.Children.Count; i++)
        {
            if (seq.Children[i] is not YamlMappingNode step || SpecReader.Child(step, "setWeight") is not YamlScalarNode node) continue;
            if (!double.TryParse(node.Value?.TrimEnd('%'), NumberStyles.Float, CultureInfo.InvariantCulture, out var w)) continue;
            var exact = w * nginx.WeightTotal / 100;
            if (Math.Abs(exact - Math.Round(exact)) > 1e-9)
                r.Problem(node, $"spec.steps[{i}].setWeight",
                    $"{node.Value}% is not a whole canary-weight out of spec.nginx.weightTotal {nginx.WeightTotal} (steps of {(100.0 / nginx.WeightTotal).ToString("0.####", CultureInfo.InvariantCulture)}%); round it or raise weightTotal");
        }
    }

    /// <summary><c>none.readyTimeout</c> predates <c>spec.progressDeadline</c>; it still wins for mesh none when written.</summary>
    private static NoMeshSettings ReadNone(SpecReader r, YamlMappingNode spec, TimeSpan progressDeadline)
    {
        var m = r.Map(spec, "none", "spec", required: false);
        const string p = "spec.none";
        if (m is not null) r.CheckKeys(m, p, "capacity", "readyTimeout");
        var capacity = r.Enum(m, "capacity", p, ["keepStable", "keepTotal"], "keepStable");
        var timeout = r.Duration(m, "readyTimeout", p, progressDeadline, min: TimeSpan.FromSeconds(1)) ?? progressDeadline;
        return new NoMeshSettings(capacity == "keepTotal" ? CapacityPolicy.KeepTotal : CapacityPolicy.KeepStable, timeout);
    }

    private static CanarySpec? ReadCanary(SpecReader r, YamlMappingNode spec, string? stableDeployment, string file, string versionLabel)
    {
        var m = r.Map(spec, "canary", "spec", required: true);
        if (m is null) return null;
        const string p = "spec.canary";
        r.CheckKeys(m, p, "deployment", "image", "container", "templatePatch", "manifest");
        var deployment = r.Name(m, "deployment", p);
        var image = r.Str(m, "image", p);
        var container = r.Str(m, "container", p);
        var patchNode = SpecReader.Child(m, "templatePatch");
        var manifestNode = SpecReader.Child(m, "manifest");
        var templatePatch = CanaryTemplateSpec.ReadPatch(r, m, versionLabel);
        var manifest = CanaryTemplateSpec.ReadManifest(r, m, file);
        if (patchNode is not null && manifestNode is not null)
            r.Problem(manifestNode, $"{p}.manifest", "give either templatePatch (a change to stable's pod template) or manifest (a whole Deployment), not both");
        var changesTemplate = image is not null || patchNode is not null || manifestNode is not null;
        if (deployment is not null && changesTemplate)
        {
            var field = image is not null ? "image" : patchNode is not null ? "templatePatch" : "manifest";
            r.Problem(SpecReader.Child(m, field), $"{p}.{field}",
                $"give either deployment (an existing canary) or {field} (Kubestead creates the canary), not both");
        }
        else if (deployment is null && !changesTemplate && SpecReader.Child(m, "deployment") is null)
            r.Problem(m, $"{p}.image",
                "required: deployment (an existing canary Deployment), image (a new image on a copy of stable), templatePatch (a change to stable's pod template) or manifest (a whole Deployment)");
        if (deployment is not null && deployment == stableDeployment)
            r.Problem(SpecReader.Child(m, "deployment"), $"{p}.deployment", "the canary Deployment must differ from the stable Deployment");
        if (container is not null && image is null)
            r.Problem(SpecReader.Child(m, "container"), $"{p}.container", "container only applies together with image");
        return new CanarySpec(deployment, image, container) { TemplatePatch = templatePatch, Manifest = manifest };
    }

    private static List<StepSpec> ReadSteps(SpecReader r, YamlMappingNode spec, bool hasAnalysis, string? mesh)
    {
        var steps = new List<StepSpec>();
        var seq = r.Seq(spec, "steps", "spec", required: true);
        if (seq is null) return steps;
        if (seq.Children.Count == 0) r.Problem(seq, "spec.steps", "needs at least one step");
        var routes = new HashSet<string>();
        for (var i = 0; i < seq.Children.Count; i++)
        {
            var path = $"spec.steps[{i}]";
            if (seq.Children[i] is not YamlMappingNode step)
            {
                r.Problem(seq.Children[i], path, $"each step is a mapping with exactly one of {string.Join(", ", StepKinds)}");
                continue;
            }
            r.CheckKeys(step, path, StepKinds);
            var kinds = step.Children.Keys.OfType<YamlScalarNode>().Select(k => k.Value!).Where(StepKinds.Contains).ToList();
            if (kinds.Count != 1)
            {
                if (kinds.Count > 1) r.Problem(step, path, $"a step has exactly one action, this one has {kinds.Count}: {string.Join(", ", kinds)}");
                else if (step.Children.Count == 0) r.Problem(step, path, $"empty step; use one of {string.Join(", ", StepKinds)}");
                continue;
            }
            var kind = kinds[0];
            switch (kind)
            {
                case "setWeight":
                    if (r.Number(step, "setWeight", path, 0, 100, required: true) is { } w) steps.Add(new SetWeightStepSpec(w));
                    break;
                case "pause":
                {
                    var node = SpecReader.Child(step, "pause")!;
                    if (SpecReader.IsNull(node)) { steps.Add(new PauseStepSpec(null)); break; }
                    var m = r.Map(step, "pause", path, required: false);
                    if (m is null) break;
                    r.CheckKeys(m, $"{path}.pause", "duration");
                    steps.Add(new PauseStepSpec(r.Duration(m, "duration", $"{path}.pause", min: TimeSpan.FromSeconds(1))));
                    break;
                }
                case "approval":
                    if (ReadApproval(r, step, path) is { } approval) steps.Add(approval);
                    break;
                case "analysis":
                {
                    var node = SpecReader.Child(step, "analysis")!;
                    if (!hasAnalysis) r.Problem(node, $"{path}.analysis", "an analysis step needs spec.analysis (which metrics and judges)");
                    if (SpecReader.IsNull(node)) { steps.Add(new AnalysisStepSpec(null, true)); break; }
                    var m = r.Map(step, "analysis", path, required: false);
                    if (m is null) break;
                    r.CheckKeys(m, $"{path}.analysis", "duration", "untilVerdict", "initialDelay");
                    var d = r.Duration(m, "duration", $"{path}.analysis", min: TimeSpan.FromSeconds(1));
                    var until = r.Bool(m, "untilVerdict", $"{path}.analysis", d is null) ?? true;
                    if (d is null && !until && SpecReader.Child(m, "duration") is null)
                        r.Problem(m, $"{path}.analysis.duration", "required when untilVerdict is false");
                    var delay = r.Duration(m, "initialDelay", $"{path}.analysis", TimeSpan.Zero, min: TimeSpan.Zero) ?? TimeSpan.Zero;
                    if (d is { } dd && delay >= dd)
                        r.Problem(SpecReader.Child(m, "initialDelay"), $"{path}.analysis.initialDelay",
                            $"{SpecDuration.Format(delay)} is not shorter than the step's duration ({SpecDuration.Format(dd)}): no window of the step would be judged");
                    steps.Add(new AnalysisStepSpec(d, until, delay));
                    break;
                }
                case "setHeaderRoute":
                {
                    var m = r.Map(step, "setHeaderRoute", path, required: true);
                    if (m is null) break;
                    var p = $"{path}.setHeaderRoute";
                    r.CheckKeys(m, p, "name", "match", "cookie");
                    var name = r.Name(m, "name", p, required: true, maxLength: 40);
                    var cookie = ReadCookie(r, m, p, mesh);
                    string header = "x-canary", value = "true", type = "exact";
                    if (r.Seq(m, "match", p, required: false) is { } matches)
                    {
                        if (matches.Children.Count != 1)
                            r.Problem(matches, $"{p}.match", "give exactly one header match");
                        else if (matches.Children[0] is YamlMappingNode mm)
                        {
                            var mp = $"{p}.match[0]";
                            r.CheckKeys(mm, mp, "headerName", "headerValue");
                            header = r.Str(mm, "headerName", mp, required: true) ?? header;
                            if (r.Map(mm, "headerValue", mp, required: true) is { } hv)
                            {
                                r.CheckKeys(hv, $"{mp}.headerValue", "exact", "prefix", "regex");
                                var kinds2 = hv.Children.Keys.OfType<YamlScalarNode>().Select(k => k.Value!).ToList();
                                if (kinds2.Count == 1 && r.Str(hv, kinds2[0], $"{mp}.headerValue", required: true) is { } v)
                                {
                                    value = v;
                                    type = kinds2[0];
                                }
                                else if (kinds2.Count != 1) r.Problem(hv, $"{mp}.headerValue", "give exactly one of exact, prefix, regex");
                            }
                        }
                        else r.Problem(matches.Children[0], $"{p}.match[0]", "must be a mapping with headerName and headerValue");
                    }
                    if (mesh == MeshProviders.Nginx) CheckNginxHeaderMatch(r, m, p, header, value, type, cookie);
                    if (name is not null)
                    {
                        if (!routes.Add(name)) r.Problem(SpecReader.Child(m, "name"), $"{p}.name", $"header route '{name}' is already set by an earlier step");
                        steps.Add(new SetHeaderRouteStepSpec(name, header, value, type, cookie));
                    }
                    break;
                }
                case "removeHeaderRoute":
                {
                    var m = r.Map(step, "removeHeaderRoute", path, required: true);
                    if (m is null) break;
                    var p = $"{path}.removeHeaderRoute";
                    r.CheckKeys(m, p, "name");
                    var name = r.Str(m, "name", p, required: true);
                    if (name is null) break;
                    if (!routes.Remove(name))
                        r.Problem(SpecReader.Child(m, "name"), $"{p}.name", $"no earlier setHeaderRoute step sets a route named '{name}'");
                    steps.Add(new RemoveHeaderRouteStepSpec(name));
                    break;
                }
            }
        }
        return steps;
    }

    /// <summary>A header or cookie ingress-nginx's annotation validators would drop is refused here, before anything is written.</summary>
    private static void CheckNginxHeaderMatch(SpecReader r, YamlMappingNode step, string p, string header, string value, string type, CookieMatchSpec? cookie)
    {
        var match = cookie is not null
            ? new Traffic.HeaderMatch(cookie.Name, "always", Traffic.HeaderMatchKind.Cookie)
            : new Traffic.HeaderMatch(header, value, type switch { "prefix" => Traffic.HeaderMatchKind.Prefix, "regex" => Traffic.HeaderMatchKind.Regex, _ => Traffic.HeaderMatchKind.Exact });
        if (Traffic.NginxHeaderMatch.Problem(match) is not { } problem) return;
        var field = cookie is not null ? $"{p}.{problem.Field}" : $"{p}.match[0].{problem.Field}";
        r.Problem(cookie is not null ? SpecReader.Child(step, "cookie") : SpecReader.Child(step, "match"), field, problem.Message);
    }

    /// <summary><c>setHeaderRoute.cookie: {name, value | regex}</c>; instead of <c>match</c>, and only where the mesh can match cookies.</summary>
    private static CookieMatchSpec? ReadCookie(SpecReader r, YamlMappingNode step, string p, string? mesh)
    {
        var m = r.Map(step, "cookie", p, required: false);
        if (m is null) return null;
        var cp = $"{p}.cookie";
        r.CheckKeys(m, cp, "name", "value", "regex");
        if (SpecReader.Child(step, "match") is { } match)
            r.Problem(match, $"{p}.match", "give either match (a header) or cookie, not both");
        if (mesh is Specs.MeshProviders.Smi or Specs.MeshProviders.None)
            r.Problem(m, cp, mesh == Specs.MeshProviders.Smi
                ? "SMI TrafficSplit routes by weight only and cannot match cookies; use meshProvider linkerd (HTTPRoute) or istio"
                : "routing by cookie needs a mesh (istio or linkerd); without one, traffic follows pods");
        var name = r.Str(m, "name", cp, required: true);
        var value = r.Str(m, "value", cp);
        var regex = r.Str(m, "regex", cp);
        if (value is not null && regex is not null)
        {
            r.Problem(SpecReader.Child(m, "regex"), $"{cp}.regex", "give either value (matched exactly) or regex, not both");
            return null;
        }
        if (value is null && regex is null)
        {
            if (SpecReader.Child(m, "value") is null && SpecReader.Child(m, "regex") is null)
                r.Problem(m, $"{cp}.value", "required: value (the cookie's exact value) or regex");
            return null;
        }
        if (name is null) return null;
        if (Traffic.CookieMatch.Problem(name, value ?? regex!, regex is not null) is { } problem)
        {
            var field = problem.Contains("cookie name", StringComparison.Ordinal) ? "name" : regex is not null ? "regex" : "value";
            r.Problem(SpecReader.Child(m, field) ?? m, $"{cp}.{field}", problem);
            return null;
        }
        return new CookieMatchSpec(name, value ?? regex!, regex is not null);
    }

    private static AnalysisSpec? ReadAnalysis(SpecReader r, YamlMappingNode spec, string? mesh)
    {
        var m = r.Map(spec, "analysis", "spec", required: false);
        if (m is null) return null;
        const string p = "spec.analysis";
        r.CheckKeys(m, p, "interval", "startingStep", "metrics", "limits", "warmup", "warmupAfterWeightChange", "background", "scrapeInterval", "loadTest", "lookback");
        var warmup = r.Duration(m, "warmup", p, TimeSpan.Zero, min: TimeSpan.Zero) ?? TimeSpan.Zero;
        var warmupAfterChange = r.Bool(m, "warmupAfterWeightChange", p, false) ?? false;
        var background = r.Bool(m, "background", p);
        var scrape = r.Duration(m, "scrapeInterval", p, min: TimeSpan.FromSeconds(1));
        var interval = ReadInterval(r, m, p, scrape);
        var lookback = ReadLookback(r, m, p, interval);
        var starting = r.Int(m, "startingStep", p, 0, 1000, 0) ?? 0;
        var limits = r.Map(m, "limits", p, required: false);
        if (limits is not null) r.CheckKeys(limits, $"{p}.limits", "consecutiveErrors", "inconclusiveWindows");
        var errors = r.Int(limits, "consecutiveErrors", $"{p}.limits", 1, 1000, 3) ?? 3;
        var inconclusive = r.Int(limits, "inconclusiveWindows", $"{p}.limits", 0, 100000, 0) ?? 0;
        var metrics = new List<MetricSpec>();
        var seq = r.Seq(m, "metrics", p, required: true);
        var names = new HashSet<string>();
        if (seq is not null)
        {
            if (seq.Children.Count == 0) r.Problem(seq, $"{p}.metrics", "needs at least one metric");
            for (var i = 0; i < seq.Children.Count; i++)
            {
                var mp = $"{p}.metrics[{i}]";
                if (seq.Children[i] is not YamlMappingNode metric)
                {
                    r.Problem(seq.Children[i], mp, "must be a mapping with name, provider and judge");
                    continue;
                }
                r.CheckKeys(metric, mp, "name", "provider", "judge");
                var name = r.Name(metric, "name", mp, required: true, maxLength: 63);
                if (name is not null && !names.Add(name)) r.Problem(SpecReader.Child(metric, "name"), $"{mp}.name", $"metric '{name}' is defined twice");
                var provider = ReadProvider(r, metric, mp, mesh);
                var judge = ReadJudge(r, metric, mp);
                // A source answering counts only: a latency judge on it would never see a sample and never decide.
                if (provider is { ReturnsLatency: false } && judge?.ReadsLatency == true)
                    r.Problem(SpecReader.Child(metric, "judge"), $"{mp}.judge", $"reads latency, which the {provider.Kind} provider does not return; judge this metric by failures, or read it from prometheus");
                if (name is not null && provider is not null && judge is not null) metrics.Add(new MetricSpec(name, provider, judge));
            }
        }
        // Checking a fixed-sample judge at every window (as background analysis does) inflates its false-alarm rate.
        var fixedSample = metrics.Where(x => x.Judge.Kind != "sequential").Select(x => $"{x.Name} ({x.Judge.Kind})").ToList();
        if (background == true && fixedSample.Count > 0)
            r.Problem(SpecReader.Child(m, "background"), $"{p}.background",
                $"background analysis needs anytime-valid (sequential) judges, but {string.Join(", ", fixedSample)} is a fixed-sample test that would raise false aborts if checked at every window; remove background or set it to false");
        return new AnalysisSpec(interval, starting, metrics, errors, inconclusive)
        {
            Warmup = warmup,
            WarmupAfterWeightChange = warmupAfterChange,
            Background = background ?? true,
            ScrapeInterval = scrape,
            LoadTest = ReadLoadTest(r, m, metrics),
            IntervalGiven = SpecReader.Child(m, "interval") is not null,
            Lookback = lookback,
        };
    }

    /// <summary>
    /// <c>analysis.lookback</c>: 0s reads no history; otherwise at least one window of the interval (the history is read
    /// in windows of it) and at most <see cref="AnalysisSpec.MaxLookback"/>.
    /// </summary>
    private static TimeSpan ReadLookback(SpecReader r, YamlMappingNode analysis, string p, TimeSpan interval)
    {
        var lookback = r.Duration(analysis, "lookback", p, AnalysisSpec.DefaultLookback, min: TimeSpan.Zero) ?? AnalysisSpec.DefaultLookback;
        var node = SpecReader.Child(analysis, "lookback");
        if (node is null) return lookback;
        if (lookback > AnalysisSpec.MaxLookback)
            r.Problem(node, $"{p}.lookback",
                $"{SpecDuration.Format(lookback)} is longer than the maximum {SpecDuration.Format(AnalysisSpec.MaxLookback)}: the control's history is read in one request per query when the analysis begins");
        else if (lookback > TimeSpan.Zero && lookback < interval)
            r.Problem(node, $"{p}.lookback",
                $"{SpecDuration.Format(lookback)} is shorter than {p}.interval ({SpecDuration.Format(interval)}): the control's history is read in windows of the interval; use {SpecDuration.Format(interval)} or longer, or 0s to read no history");
        return lookback;
    }

    /// <summary>
    /// <c>analysis.interval</c>: counters move only at scrapes, so a window shorter than the scrape interval holds no new
    /// evidence (or one scrape's worth, twice): the default is the scrape interval (one minute, Prometheus's own default,
    /// when the spec does not give it) and a shorter interval is refused, naming both fields (issue #29).
    /// </summary>
    private static TimeSpan ReadInterval(SpecReader r, YamlMappingNode analysis, string p, TimeSpan? scrape)
    {
        var minimum = TimeSpan.FromSeconds(5);
        var byDefault = scrape is { } s ? (s > minimum ? s : minimum) : TimeSpan.FromMinutes(1);
        var interval = r.Duration(analysis, "interval", p, byDefault, min: minimum) ?? byDefault;
        if (scrape is { } scrapeInterval && interval < scrapeInterval)
            r.Problem(SpecReader.Child(analysis, "interval"), $"{p}.interval",
                $"{SpecDuration.Format(interval)} is shorter than {p}.scrapeInterval ({SpecDuration.Format(scrapeInterval)}): counters move only at scrapes, so a window must hold at least one; use {SpecDuration.Format(scrapeInterval)} or longer");
        return interval;
    }

    /// <summary>A warm-up as long as an analysis step would leave the step nothing to judge.</summary>
    private static void CheckWarmups(SpecReader r, YamlMappingNode spec, AnalysisSpec analysis, IReadOnlyList<StepSpec> steps)
    {
        if (analysis.Warmup <= TimeSpan.Zero) return;
        for (var i = 0; i < steps.Count; i++)
            if (steps[i] is AnalysisStepSpec { Duration: { } d } && analysis.Warmup >= d)
            {
                r.Problem(SpecReader.Child(SpecReader.Child(spec, "analysis") as YamlMappingNode, "warmup"), "spec.analysis.warmup",
                    $"{SpecDuration.Format(analysis.Warmup)} is not shorter than the duration of spec.steps[{i}].analysis ({SpecDuration.Format(d)}): no window of that step would be judged");
                return;
            }
    }

    private static MetricProviderSpec? ReadProvider(SpecReader r, YamlMappingNode metric, string mp, string? mesh)
    {
        var provider = r.Map(metric, "provider", mp, required: true);
        if (provider is null) return null;
        var blocks = Kubestead.Metrics.MetricProviderBlocks.All;
        r.CheckKeys(provider, $"{mp}.provider", blocks.Select(b => b.Key).ToArray());
        // A metric that names no known provider is asked for the first (Prometheus), whose reader reports it missing.
        var given = blocks.Where(b => SpecReader.Child(provider, b.Key) is not null).ToList();
        if (given.Count > 1)
            r.Problem(provider, $"{mp}.provider", $"names {string.Join(" and ", given.Select(b => b.Key))}; a metric reads from one provider");
        var block = given.FirstOrDefault() ?? blocks[0];
        return block.Read(r, provider, $"{mp}.provider", mesh);
    }

    /// <summary>How far detectRatio must lie above allowedIncrease (a margin, so the two nulls are well apart).</summary>
    public const double MinDetectOverAllowed = 1.5;

    private static JudgeSpec? ReadJudge(SpecReader r, YamlMappingNode metric, string mp)
    {
        var judge = r.Map(metric, "judge", mp, required: false);
        if (judge is null)
            return SpecReader.Child(metric, "judge") is null ? new JudgeSpec("sequential", 0.05, 5, 1.0, 0.98, null, null, null) : null;
        var jp = $"{mp}.judge";
        r.CheckKeys(judge, jp, "sequential", "threshold", "mannWhitney");
        if (judge.Children.Count != 1)
        {
            if (judge.Children.Count > 1) r.Problem(judge, jp, "give exactly one of sequential, threshold, mannWhitney");
            return null;
        }
        var kind = (judge.Children.Keys.First() as YamlScalarNode)?.Value ?? "";
        var body = SpecReader.Child(judge, kind) is { } n && !SpecReader.IsNull(n) ? r.Map(judge, kind, jp, required: false) : null;
        var bp = $"{jp}.{kind}";
        switch (kind)
        {
            case "sequential":
                if (body is not null) r.CheckKeys(body, bp, "alpha", "detectRatio", "allowedIncrease", "latencyThresholdMs");
                var alpha = PercentFields.Fraction(r, body, "alpha", bp, 0.0001, 0.5, 0.05) ?? 0.05;
                var detect = r.Number(body, "detectRatio", bp, 1.01, 1000, 5) ?? 5;
                var allowed = r.Number(body, "allowedIncrease", bp, 1.0, 100, 1.0) ?? 1.0;
                // The Pass test's null (detectRatio) must lie clearly above the Fail test's (allowedIncrease): inverted,
                // the Pass test bets on ratios it should reject (issue #18: an 8x canary passed 88% of the time).
                if (detect < MinDetectOverAllowed * allowed)
                    r.Problem(body is null ? null : SpecReader.Child(body, "detectRatio") ?? body, $"{bp}.detectRatio",
                        $"must be at least {MinDetectOverAllowed} times allowedIncrease ({allowed.ToString(CultureInfo.InvariantCulture)}), so the pass and fail tests cannot overlap; got {detect.ToString(CultureInfo.InvariantCulture)}");
                return new JudgeSpec("sequential", alpha, detect, allowed,
                    0.98, null, null,
                    r.Number(body, "latencyThresholdMs", bp, 0.001, 3_600_000));
            case "threshold":
                if (body is not null) r.CheckKeys(body, bp, "successRate", "p99Ms", "minRequests");
                var sr = PercentFields.Percent(r, body, "successRate", bp);
                // Above 1 it is a percentage, but one that passes a canary failing most requests: an error rate written
                // in the success rate's place (1.5 meaning "at most 1.5% errors").
                if (sr is { } low && low < MinSuccessRatePercent)
                {
                    var show = low.ToString("0.###", CultureInfo.InvariantCulture);
                    r.Problem(SpecReader.Child(body!, "successRate"), $"{bp}.successRate",
                        $"successRate {show}% would pass a canary failing {(100 - low).ToString("0.###", CultureInfo.InvariantCulture)}% of its requests; it is the share that succeeds (for at most {show}% errors write {(100 - low).ToString("0.###", CultureInfo.InvariantCulture)})");
                    sr = null;
                }
                var p99 = r.Number(body, "p99Ms", bp, 0.001, 3_600_000);
                if (sr is null && p99 is null && body is not null && SpecReader.Child(body, "successRate") is null && SpecReader.Child(body, "p99Ms") is null)
                    r.Problem(body, $"{bp}.successRate", "give successRate (percent) and/or p99Ms");
                var minRequests = r.Number(body, "minRequests", bp, 1, 100_000);
                if (minRequests is { } mr && mr != Math.Floor(mr))
                    r.Problem(SpecReader.Child(body!, "minRequests") ?? body, $"{bp}.minRequests", $"must be a whole number of requests; got {mr.ToString(CultureInfo.InvariantCulture)}");
                return new JudgeSpec("threshold", 0.05, 5, 1, 0.98, sr, p99, null) { MinRequests = minRequests is { } wanted ? (long)wanted : null };
            case "mannWhitney":
                if (body is not null) r.CheckKeys(body, bp, "confidence", "allowedIncrease");
                return new JudgeSpec("mannWhitney", 0.05, 5,
                    r.Number(body, "allowedIncrease", bp, 1.0, 100, 1.0) ?? 1.0,
                    PercentFields.Fraction(r, body, "confidence", bp, 0.5, 0.9999, 0.98) ?? 0.98, null, null, null);
            default:
                return null;
        }
    }

    /// <summary>The lowest success-rate threshold accepted: below it the threshold passes a canary failing most requests.</summary>
    public const double MinSuccessRatePercent = 50;

    private static PoliciesSpec ReadPolicies(SpecReader r, YamlMappingNode spec)
    {
        var m = r.Map(spec, "policies", "spec", required: false);
        const string p = "spec.policies";
        if (m is not null) r.CheckKeys(m, p, "onDrift", "onInsufficientData", "onMetricErrors", "promotion", "holdWeightWhilePaused");
        // Defaults are the safe ones for a CI job that leaves: metrics that keep failing abort (as Argo's
        // consecutiveErrorLimit does) rather than leave a canary serving traffic nobody watches.
        return new PoliciesSpec(
            r.Enum(m, "onDrift", p, ["pause", "reassert"], "pause") ?? "pause",
            r.Enum(m, "onInsufficientData", p, ["pause", "fail"], "pause") ?? "pause",
            r.Enum(m, "onMetricErrors", p, ["pause", "fail"], "fail") ?? "fail",
            r.Enum(m, "promotion", p, ["full", "weightOnly"], "full") ?? "full")
        {
            HoldWeightWhilePaused = r.Bool(m, "holdWeightWhilePaused", p, false) ?? false,
        };
    }
}
