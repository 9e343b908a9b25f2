using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace Var.Deploy.Tests;

/// <summary>KEDA's ScaledObject (keda.sh/v1alpha1), the fields the manifests use; strict loading refuses any other.</summary>
public sealed class ScaledObject : IKubernetesObject<V1ObjectMeta>
{
    /// <inheritdoc />
    [JsonPropertyName("apiVersion")]
    public string ApiVersion { get; set; } = "";

    /// <inheritdoc />
    [JsonPropertyName("kind")]
    public string Kind { get; set; } = "";

    /// <inheritdoc />
    [JsonPropertyName("metadata")]
    public V1ObjectMeta Metadata { get; set; } = new();

    /// <summary>The spec.</summary>
    [JsonPropertyName("spec")]
    public ScaledObjectSpec Spec { get; set; } = new();
}

/// <summary>ScaledObject.spec.</summary>
public sealed class ScaledObjectSpec
{
    /// <summary>The scaled workload (a Deployment by name).</summary>
    [JsonPropertyName("scaleTargetRef")]
    public ScaleTarget ScaleTargetRef { get; set; } = new();

    /// <summary>Fewest replicas.</summary>
    [JsonPropertyName("minReplicaCount")]
    public int? MinReplicaCount { get; set; }

    /// <summary>Most replicas.</summary>
    [JsonPropertyName("maxReplicaCount")]
    public int? MaxReplicaCount { get; set; }

    /// <summary>Seconds between trigger polls.</summary>
    [JsonPropertyName("pollingInterval")]
    public int? PollingInterval { get; set; }

    /// <summary>Seconds after the last active trigger before scaling to the minimum.</summary>
    [JsonPropertyName("cooldownPeriod")]
    public int? CooldownPeriod { get; set; }

    /// <summary>The triggers.</summary>
    [JsonPropertyName("triggers")]
    public List<ScaledObjectTrigger> Triggers { get; set; } = [];
}

/// <summary>ScaledObject.spec.scaleTargetRef.</summary>
public sealed class ScaleTarget
{
    /// <summary>Workload name.</summary>
    [JsonPropertyName("name")]
    public string Name { get; set; } = "";

    /// <summary>Workload kind (default Deployment).</summary>
    [JsonPropertyName("kind")]
    public string? Kind { get; set; }
}

/// <summary>One KEDA trigger.</summary>
public sealed class ScaledObjectTrigger
{
    /// <summary>Scaler type, e.g. prometheus.</summary>
    [JsonPropertyName("type")]
    public string Type { get; set; } = "";

    /// <summary>Scaler settings (strings).</summary>
    [JsonPropertyName("metadata")]
    public Dictionary<string, string> Metadata { get; set; } = [];
}

/// <summary>A kustomization.yaml (kustomize.config.k8s.io/v1beta1), the fields the manifests use.</summary>
public sealed class Kustomization : IKubernetesObject
{
    /// <inheritdoc />
    [JsonPropertyName("apiVersion")]
    public string ApiVersion { get; set; } = "";

    /// <inheritdoc />
    [JsonPropertyName("kind")]
    public string Kind { get; set; } = "";

    /// <summary>Files and folders it builds on.</summary>
    [JsonPropertyName("resources")]
    public List<string> Resources { get; set; } = [];

    /// <summary>Patches: a file, or an inline patch with a target.</summary>
    [JsonPropertyName("patches")]
    public List<KustomizePatch> Patches { get; set; } = [];

    /// <summary>Image name rewrites.</summary>
    [JsonPropertyName("images")]
    public List<KustomizeImage> Images { get; set; } = [];
}

/// <summary>One kustomize patch.</summary>
public sealed class KustomizePatch
{
    /// <summary>A patch file.</summary>
    [JsonPropertyName("path")]
    public string? Path { get; set; }

    /// <summary>An inline patch.</summary>
    [JsonPropertyName("patch")]
    public string? Patch { get; set; }

    /// <summary>What an inline patch applies to.</summary>
    [JsonPropertyName("target")]
    public Dictionary<string, string>? Target { get; set; }
}

/// <summary>One kustomize image rewrite.</summary>
public sealed class KustomizeImage
{
    /// <summary>The image name the manifests use.</summary>
    [JsonPropertyName("name")]
    public string Name { get; set; } = "";

    /// <summary>The name it becomes.</summary>
    [JsonPropertyName("newName")]
    public string? NewName { get; set; }

    /// <summary>The tag it gets.</summary>
    [JsonPropertyName("newTag")]
    public string? NewTag { get; set; }
}
