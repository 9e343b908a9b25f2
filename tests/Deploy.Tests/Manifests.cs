using k8s;
using k8s.Models;

namespace Var.Deploy.Tests;

/// <summary>
/// Every YAML file under deploy/k8s, loaded strictly into the Kubernetes API's typed models (KubernetesClient: an
/// unknown field, a wrong type or an unknown kind fails), custom resources into the types of CustomResources.cs.
/// </summary>
public static class Manifests
{
    /// <summary>The kinds that are not part of the Kubernetes API.</summary>
    public static readonly Dictionary<string, Type> CustomKinds = new()
    {
        ["keda.sh/v1alpha1/ScaledObject"] = typeof(ScaledObject),
        ["kustomize.config.k8s.io/v1beta1/Kustomization"] = typeof(Kustomization),
    };

    /// <summary>deploy/k8s.</summary>
    public static string Folder => Repo.PathOf("deploy", "k8s");

    /// <summary>The YAML files, relative to <see cref="Folder"/>, '/'-separated, sorted.</summary>
    public static IReadOnlyList<string> Files() =>
        Directory.EnumerateFiles(Folder, "*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".yaml", StringComparison.Ordinal) || f.EndsWith(".yml", StringComparison.Ordinal))
            .Select(f => Path.GetRelativePath(Folder, f).Replace('\\', '/')).Order(StringComparer.Ordinal).ToList();

    /// <summary>The objects of <paramref name="yaml"/>, strictly typed.</summary>
    public static List<object> Parse(string yaml) => KubernetesYaml.LoadAllFromString(yaml, CustomKinds, strict: true);

    /// <summary>The objects of one file under <see cref="Folder"/>.</summary>
    public static List<object> Load(string relative) => Parse(File.ReadAllText(Path.Combine(Folder, relative)));

    /// <summary>The one object of type <typeparamref name="T"/> in <paramref name="relative"/>.</summary>
    public static T One<T>(string relative) => Assert.Single(Load(relative).OfType<T>());

    /// <summary>The service's Deployment.</summary>
    public static V1Deployment Deployment => One<V1Deployment>("service/deployment.yaml");

    /// <summary>The service's container.</summary>
    public static V1Container ServiceContainer(V1Deployment deployment) => Assert.Single(deployment.Spec.Template.Spec.Containers, c => c.Name == "var");

    /// <summary>A container's environment as name → value (values only; none of the manifests use valueFrom).</summary>
    public static Dictionary<string, string> Env(V1Container container) => (container.Env ?? []).ToDictionary(e => e.Name, e => e.Value ?? "");

    /// <summary>The container port named <paramref name="name"/>.</summary>
    public static int Port(V1Container container, string name) => Assert.Single(container.Ports, p => p.Name == name).ContainerPort;
}
