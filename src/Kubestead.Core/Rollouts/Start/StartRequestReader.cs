using Kubestead.Kubernetes;
using Kubestead.Specs;

namespace Kubestead.Rollouts.Start;

/// <summary>
/// Turns what a user gave start (a spec file, spec text, or a name with an image) into a valid spec and the YAML to
/// record, or throws an invalid-input error naming what is wrong. Reads only; start, validate and the dry run share it.
/// </summary>
public sealed class StartRequestReader(IKubernetesApi api)
{
    public async Task<(RolloutSpec Spec, string Yaml)> ReadAsync(StartRequest request, CancellationToken ct)
    {
        string yaml;
        string file;
        if (request.SpecYaml is { } text)
        {
            yaml = text;
            file = request.SpecPath ?? "<spec>";
        }
        else if (request.SpecPath is { } path)
        {
            if (!File.Exists(path))
                throw new KubesteadException("SpecFileNotFound", KubesteadErrorKind.InvalidInput, $"spec file '{path}' does not exist", path);
            yaml = File.ReadAllText(path);
            file = path;
        }
        else if (request.Name is { } name && request.Image is { } image)
        {
            // Without -MeshProvider the mesh is detected as New-KubesteadRolloutSpec detects it: never a silent "none"
            // on a cluster whose traffic goes through a mesh.
            var mesh = request.MeshProvider ?? await SpecScaffolder.DetectMeshAsync(api, ct).ConfigureAwait(false);
            if (mesh == MeshProviders.Linkerd1)
                throw new KubesteadException("SpecFileRequired", KubesteadErrorKind.InvalidInput,
                    "meshProvider linkerd1 needs spec.linkerd1 (namerd's address, the dtab namespace, the prefix and the stable and canary paths), which " +
                    "-Name/-Image cannot guess: scaffold a spec (New-KubesteadRolloutSpec -MeshProvider linkerd1, kubestead new-spec --mesh linkerd1), check it, and start it with -Path / --file");
            yaml = RolloutSpecDefaults.ForImage(name, request.Namespace ?? api.DefaultNamespace, request.Service ?? name, mesh, image);
            file = "<-Name/-Image>";
        }
        else
        {
            throw new KubesteadException("SpecMissing", KubesteadErrorKind.InvalidInput, "give a spec file (-Path / --file), or a name with an image (-Name and -Image)");
        }
        var result = RolloutSpecParser.Parse(yaml, file);
        if (!result.IsValid) throw new RolloutSpecInvalidException(result.Problems);
        var spec = result.Spec!;
        // The stored spec is read by other processes on other machines: a manifest file it names goes in with it.
        yaml = RolloutSpecParser.InlineManifest(yaml, file);
        if (request.Namespace is { } ns && request.SpecYaml is null && request.SpecPath is not null && ns != spec.Namespace)
            spec = spec with { Namespace = ns };
        return (spec, yaml);
    }
}
