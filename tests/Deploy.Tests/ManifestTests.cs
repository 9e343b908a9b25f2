using System.Text.Json;
using k8s.Models;

namespace Var.Deploy.Tests;

/// <summary>deploy/k8s: every file loads strictly into the Kubernetes models, and the objects fit together and fit the service.</summary>
public sealed class ManifestTests
{
    [Fact]
    public void EveryManifestLoadsStrictlyIntoTheKubernetesModels()
    {
        var files = Manifests.Files();
        Assert.True(files.Count >= 10, string.Join(", ", files));
        foreach (var file in files)
        {
            var objects = Manifests.Load(file);
            Assert.NotEmpty(objects);
            foreach (var o in objects)
            {
                if (o is Kustomization k)
                {
                    Assert.Equal("kustomization.yaml", Path.GetFileName(file));
                    Assert.NotEmpty(k.Resources);
                    continue;
                }
                var meta = Assert.IsAssignableFrom<k8s.IKubernetesObject<V1ObjectMeta>>(o).Metadata;
                Assert.False(string.IsNullOrEmpty(meta.Name), $"{file}: an object without a name");
            }
        }

        // The check can fail: a misspelt field, a wrong type and an unknown kind are refused.
        Assert.ThrowsAny<Exception>(() => Manifests.Parse("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replicaz: 2}\n"));
        Assert.ThrowsAny<Exception>(() => Manifests.Parse("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replicas: two}\n"));
        Assert.ThrowsAny<Exception>(() => Manifests.Parse("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: x}\n"));
    }

    [Fact]
    public void EveryFileBelongsToItsFoldersKustomizationAndEveryReferenceExists()
    {
        var files = Manifests.Files();
        foreach (var folder in files.Select(f => Path.GetDirectoryName(f)!).Distinct())
        {
            var k = Manifests.One<Kustomization>(Path.Combine(folder, "kustomization.yaml"));
            var referenced = new HashSet<string>(StringComparer.Ordinal);
            foreach (var resource in k.Resources)
            {
                var path = Path.GetFullPath(Path.Combine(Manifests.Folder, folder, resource));
                Assert.True(File.Exists(path) || File.Exists(Path.Combine(path, "kustomization.yaml")), $"{folder}: resource {resource} does not exist");
                referenced.Add(resource);
            }
            foreach (var patch in k.Patches)
            {
                Assert.True((patch.Path is null) != (patch.Patch is null), $"{folder}: a patch names a file or holds one inline");
                if (patch.Path is { } p)
                {
                    Assert.True(File.Exists(Path.Combine(Manifests.Folder, folder, p)), $"{folder}: patch {p} does not exist");
                    referenced.Add(p);
                }
                else
                {
                    Assert.NotNull(patch.Target);
                }
            }
            foreach (var file in files.Where(f => Path.GetDirectoryName(f) == folder && Path.GetFileName(f) != "kustomization.yaml"))
                Assert.Contains(Path.GetFileName(file), referenced);
            // The manifests' image is the one every kustomization rewrites (to your registry).
            Assert.All(k.Images, i => Assert.Equal("var", i.Name));
        }
    }

    [Fact]
    public void TheDeploymentProbesOverGrpcAndSetsResourcesGraceAndTheTokenSecret()
    {
        var d = Manifests.Deployment;
        DeploymentChecks.Check(d);
        Assert.Null(d.Spec.Replicas); // the autoscaler owns the count; an apply must not reset it
        Assert.Equal("var:latest", Manifests.ServiceContainer(d).Image);
        Assert.Equal("0", d.Spec.Strategy.RollingUpdate.MaxUnavailable.Value); // a rollout never drops below the serving count
    }

    [Fact]
    public void TheHeadlessServiceSelectsTheServingPodsOnTheGrpcPort()
    {
        var service = Manifests.One<V1Service>("service/service.yaml");
        var d = Manifests.Deployment;
        Assert.Equal("None", service.Spec.ClusterIP);
        Assert.Equal(d.Metadata.Name, service.Metadata.Name);
        foreach (var (key, value) in service.Spec.Selector) Assert.Equal(value, d.Spec.Template.Metadata.Labels[key]);
        var port = Assert.Single(service.Spec.Ports);
        Assert.Equal(Manifests.Port(Manifests.ServiceContainer(d), port.TargetPort.Value), port.Port);

        var pdb = Manifests.One<V1PodDisruptionBudget>("service/pdb.yaml");
        foreach (var (key, value) in pdb.Spec.Selector.MatchLabels) Assert.Equal(value, d.Spec.Template.Metadata.Labels[key]);
    }

    [Fact]
    public void TheHpaScalesTheDeploymentOnTheQueueDepthMetric()
    {
        var hpa = Manifests.One<V2HorizontalPodAutoscaler>("service/hpa.yaml");
        var d = Manifests.Deployment;
        Assert.Equal(("apps/v1", "Deployment", d.Metadata.Name), (hpa.Spec.ScaleTargetRef.ApiVersion, hpa.Spec.ScaleTargetRef.Kind, hpa.Spec.ScaleTargetRef.Name));
        Assert.InRange(hpa.Spec.MinReplicas ?? 1, 1, hpa.Spec.MaxReplicas);
        var metric = Assert.Single(hpa.Spec.Metrics);
        Assert.Equal("Pods", metric.Type);
        Assert.Equal(QueueDepthSeries, metric.Pods.Metric.Name);
        Assert.Equal("AverageValue", metric.Pods.Target.Type);
        Assert.True(metric.Pods.Target.AverageValue.ToDecimal() > 0);

        // prometheus-adapter serves exactly that series under that name.
        var adapter = new YamlDotNet.Serialization.DeserializerBuilder().Build()
            .Deserialize<Dictionary<string, object>>(File.ReadAllText(Repo.PathOf("deploy", "prometheus-adapter-values.yaml")));
        var json = JsonSerializer.Serialize(adapter);
        Assert.Contains($"\"seriesQuery\":\"{QueueDepthSeries}{{", json);
        Assert.Contains($"\"as\":\"{QueueDepthSeries}\"", json);
    }

    /// <summary>The Prometheus name of the service's queue gauge "var.queue.depth" (dots become underscores; the exporter's real output is checked in <see cref="ServiceUnderTheDeploymentTests"/>).</summary>
    public static string QueueDepthSeries => "var.queue.depth".Replace('.', '_');

    [Fact]
    public void KedaScalesOnTheSameMetricAndReplacesTheHpa()
    {
        var scaled = Manifests.One<ScaledObject>("keda/scaledobject.yaml");
        Assert.Equal(Manifests.Deployment.Metadata.Name, scaled.Spec.ScaleTargetRef.Name);
        var trigger = Assert.Single(scaled.Spec.Triggers);
        Assert.Equal("prometheus", trigger.Type);
        Assert.Contains(QueueDepthSeries + "{app=\"var-generation\"}", trigger.Metadata["query"]);
        Assert.Equal("var-generation", Manifests.Deployment.Spec.Template.Metadata.Labels["app"]);
        Assert.True(double.Parse(trigger.Metadata["threshold"], System.Globalization.CultureInfo.InvariantCulture) > 0);
        Assert.InRange(scaled.Spec.MinReplicaCount ?? 0, 1, scaled.Spec.MaxReplicaCount ?? 100);

        var k = Manifests.One<Kustomization>("keda/kustomization.yaml");
        var delete = Assert.Single(k.Patches, p => p.Patch is not null);
        Assert.Equal("HorizontalPodAutoscaler", delete.Target!["kind"]);
        Assert.Contains("$patch: delete", delete.Patch);
    }

    [Fact]
    public void TheIndexedJobRunsBatchShardsFromItsCompletionIndexIntoTheVolume()
    {
        var job = Manifests.One<V1Job>("batch/job.yaml");
        var spec = job.Spec;
        Assert.Equal("Indexed", spec.CompletionMode);
        Assert.True(spec.Completions >= 2);
        Assert.InRange(spec.Parallelism ?? 1, 1, spec.Completions!.Value);
        Assert.True(spec.BackoffLimitPerIndex > 0);
        var pod = spec.Template.Spec;
        Assert.Equal("Never", pod.RestartPolicy);
        Assert.True(pod.SecurityContext.RunAsNonRoot);
        Assert.Equal(DeploymentChecks.AppUid, pod.SecurityContext.RunAsUser);
        var c = Assert.Single(pod.Containers);
        Assert.Equal(["var"], c.Command);
        Assert.Equal("batch", c.Args[0]);
        // The count must be passed along: Kubernetes gives a pod its index, not the number of indexes.
        Assert.Equal(spec.Completions.ToString(), Manifests.Env(c)["JOB_COMPLETIONS"]);
        Assert.Equal("$(JOB_COMPLETION_INDEX)/$(JOB_COMPLETIONS)", c.Args[c.Args.IndexOf("--shard") + 1]);
        Assert.True(c.Resources.Requests.ContainsKey("cpu") && c.Resources.Limits.ContainsKey("memory"));

        // --out is the shared claim; the jobs file comes from the ConfigMap beside it.
        var output = c.Args[c.Args.IndexOf("--out") + 1];
        var claim = DeploymentChecks.Volume(pod, c, output).PersistentVolumeClaim;
        Assert.Equal(Manifests.One<V1PersistentVolumeClaim>("batch/pvc.yaml").Metadata.Name, claim.ClaimName);
        var jobsFile = c.Args[1];
        var config = DeploymentChecks.Volume(pod, c, Path.GetDirectoryName(jobsFile)!).ConfigMap;
        var map = Manifests.One<V1ConfigMap>("batch/jobs-configmap.yaml");
        Assert.Equal(map.Metadata.Name, config.Name);
        var lines = map.Data[Path.GetFileName(jobsFile)].Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.All(lines, l => Assert.Equal(JsonValueKind.Object, JsonDocument.Parse(l).RootElement.ValueKind));
    }

    [Fact]
    public void TheServerJobCallsTheHeadlessServiceWithATokenFromTheSecret()
    {
        var patch = Manifests.One<V1Job>("batch-server/job-patch.yaml");
        var c = Assert.Single(patch.Spec.Template.Spec.Containers);
        var server = c.Args[c.Args.IndexOf("--server") + 1];
        var service = Manifests.One<V1Service>("service/service.yaml");
        Assert.Equal($"dns:///{service.Metadata.Name}:{service.Spec.Ports[0].Port}", server);
        var tokenFile = c.Args[c.Args.IndexOf("--token-file") + 1];
        var volume = DeploymentChecks.Volume(patch.Spec.Template.Spec, c, Path.GetDirectoryName(tokenFile)!);
        Assert.Equal("var-tokens", volume.Secret.SecretName);
        Assert.Equal("$(JOB_COMPLETION_INDEX)/$(JOB_COMPLETIONS)", c.Args[c.Args.IndexOf("--shard") + 1]);
    }

    [Fact]
    public void TheTlsOverlayMountsTheCertificateWhereTheServiceReadsIt()
    {
        var patch = Manifests.One<V1Deployment>("tls/deployment-patch.yaml");
        var c = Manifests.ServiceContainer(patch);
        var env = Manifests.Env(c);
        DeploymentChecks.CheckEnvironmentBinds(env.Keys);
        var folder = Path.GetDirectoryName(env["Var__Server__Certificate__Path"])!;
        Assert.Equal(folder, Path.GetDirectoryName(env["Var__Server__Certificate__KeyPath"]));
        Assert.Equal(("tls.crt", "tls.key"), (Path.GetFileName(env["Var__Server__Certificate__Path"]), Path.GetFileName(env["Var__Server__Certificate__KeyPath"])));
        Assert.Equal("var-tls", DeploymentChecks.Volume(patch.Spec.Template.Spec, c, folder).Secret.SecretName);
    }

    [Fact]
    public void TheCudaOverlayAsksForAGpuAndTheCudaImage()
    {
        var patch = Manifests.One<V1Deployment>("cuda/deployment-patch.yaml");
        var c = Manifests.ServiceContainer(patch);
        var env = Manifests.Env(c);
        DeploymentChecks.CheckEnvironmentBinds(env.Keys);
        Assert.Equal("cuda", env["Var__Models__Device"]);
        Assert.Equal(1m, c.Resources.Limits["nvidia.com/gpu"].ToDecimal());
        Assert.Equal("cuda", Assert.Single(Manifests.One<Kustomization>("cuda/kustomization.yaml").Images).NewTag);
    }
}
