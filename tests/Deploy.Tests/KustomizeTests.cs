using k8s.Models;

namespace Var.Deploy.Tests;

/// <summary>
/// Every kustomization renders (kubectl kustomize, offline) into objects that load strictly, and what each overlay
/// produces still passes the base's checks. Skipped where kubectl is not installed.
/// </summary>
public sealed class KustomizeTests
{
    private static List<object> Render(string folder)
    {
        Skip.IfNot(Tool.OnPath("kubectl"), "kubectl is not installed here");
        var result = Tool.Run("kubectl", ["kustomize", Path.Combine(Manifests.Folder, folder)], TimeSpan.FromMinutes(2));
        Assert.True(result.ExitCode == 0, result.Output);
        return Manifests.Parse(result.Output);
    }

    [SkippableTheory]
    [InlineData("service")]
    [InlineData("tls")]
    [InlineData("cuda")]
    [InlineData("keda")]
    public void EveryServiceOverlayRendersADeploymentThatPassesTheChecks(string folder)
    {
        var objects = Render(folder);
        var deployment = Assert.Single(objects.OfType<V1Deployment>());
        DeploymentChecks.Check(deployment);
        Assert.Single(objects.OfType<V1Service>(), s => s.Spec.ClusterIP == "None");
        Assert.Equal(folder == "keda" ? 0 : 1, objects.OfType<V2HorizontalPodAutoscaler>().Count());
        Assert.Equal(folder == "keda" ? 1 : 0, objects.OfType<ScaledObject>().Count());
        var c = Manifests.ServiceContainer(deployment);
        Assert.Equal(folder == "cuda" ? "var:cuda" : "var:latest", c.Image);
        if (folder == "tls") Assert.Contains(c.VolumeMounts, m => m.MountPath == Path.GetDirectoryName(Manifests.Env(c)["Var__Server__Certificate__Path"]));
        if (folder == "cuda") Assert.Equal("cuda", Manifests.Env(c)["Var__Models__Device"]);
    }

    [SkippableTheory]
    [InlineData("batch")]
    [InlineData("batch-server")]
    public void TheBatchJobsRender(string folder)
    {
        var objects = Render(folder);
        var job = Assert.Single(objects.OfType<V1Job>());
        Assert.Equal("Indexed", job.Spec.CompletionMode);
        var c = Assert.Single(job.Spec.Template.Spec.Containers);
        Assert.Equal(folder == "batch-server", c.Args.Contains("--server"));
        Assert.Single(objects.OfType<V1PersistentVolumeClaim>());
        Assert.Single(objects.OfType<V1ConfigMap>());
        // Every mount has its volume after the merge.
        Assert.All(c.VolumeMounts, m => Assert.Contains(job.Spec.Template.Spec.Volumes, v => v.Name == m.Name));
    }
}
