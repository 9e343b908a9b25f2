using System.Reflection;
using k8s.Models;
using Var.Service.Hosting;
using Var.Service.Options;

namespace Var.Deploy.Tests;

/// <summary>What any rendering of the service's Deployment (the base or an overlay) must satisfy.</summary>
public static class DeploymentChecks
{
    /// <summary>The image's unprivileged user (the .NET images' "app", $APP_UID); the Dockerfile's USER.</summary>
    public const long AppUid = 1654;

    /// <summary>Kestrel waits DrainGraceSeconds + this after SIGTERM (GenerationServiceExtensions' HostOptions.ShutdownTimeout).</summary>
    public const double KestrelExtraSeconds = 5;

    /// <summary>Checks probes, ports, resources, grace period, security context and the token secret of <paramref name="d"/>.</summary>
    public static void Check(V1Deployment d)
    {
        var pod = d.Spec.Template.Spec;
        var c = Manifests.ServiceContainer(d);
        var env = Manifests.Env(c);

        // The pods carry the labels the Deployment selects on.
        foreach (var (key, value) in d.Spec.Selector.MatchLabels) Assert.Equal(value, d.Spec.Template.Metadata.Labels[key]);

        // gRPC probes on the cleartext health-only port, which the service opens where the environment says.
        int healthPort = Manifests.Port(c, "health");
        Assert.Equal(healthPort.ToString(), env["Var__Server__HealthPort"]);
        foreach (var probe in new[] { c.StartupProbe, c.ReadinessProbe, c.LivenessProbe })
        {
            Assert.NotNull(probe);
            Assert.NotNull(probe.Grpc);
            Assert.Null(probe.HttpGet);
            Assert.Null(probe.Exec);
            Assert.Null(probe.TcpSocket);
            Assert.Equal(healthPort, probe.Grpc.Port);
        }
        Assert.Equal(ServingState.GenerationServiceName, c.StartupProbe.Grpc.Service);
        Assert.Equal(ServingState.GenerationServiceName, c.ReadinessProbe.Grpc.Service);
        Assert.Equal(ServingState.LivenessServiceName, c.LivenessProbe.Grpc.Service);
        Assert.True((c.StartupProbe.PeriodSeconds ?? 10) * (c.StartupProbe.FailureThreshold ?? 3) >= 60, "the startup probe must allow a minute or more for loading the models");
        Assert.Equal(50051, Manifests.Port(c, "grpc"));
        int metricsPort = Manifests.Port(c, "metrics");
        Assert.Equal(metricsPort.ToString(), d.Spec.Template.Metadata.Annotations["prometheus.io/port"]);

        // Requests and limits for CPU and memory, limits not below requests; torch threads within the CPU limit.
        foreach (var resource in new[] { "cpu", "memory" })
        {
            Assert.True(c.Resources.Requests.ContainsKey(resource), $"no {resource} request");
            Assert.True(c.Resources.Limits.ContainsKey(resource), $"no {resource} limit");
            Assert.True(c.Resources.Limits[resource].ToDecimal() >= c.Resources.Requests[resource].ToDecimal(), $"{resource} limit below its request");
        }
        Assert.InRange(int.Parse(env["Var__Models__Threads"]), 1, (int)Math.Ceiling(c.Resources.Limits["cpu"].ToDecimal()));

        // SIGTERM → drain for DrainGraceSeconds, Kestrel 5 s more; the kubelet's SIGKILL must come later still.
        double drain = double.Parse(env["Var__Server__DrainGraceSeconds"], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(pod.TerminationGracePeriodSeconds > drain + KestrelExtraSeconds,
            $"terminationGracePeriodSeconds {pod.TerminationGracePeriodSeconds} must exceed DrainGraceSeconds {drain} + {KestrelExtraSeconds}");

        // Non-root (the image's user), read-only root with a writable /tmp, no privilege escalation, no API token.
        Assert.True(pod.SecurityContext.RunAsNonRoot);
        Assert.Equal(AppUid, pod.SecurityContext.RunAsUser);
        Assert.True(c.SecurityContext.ReadOnlyRootFilesystem);
        Assert.False(c.SecurityContext.AllowPrivilegeEscalation);
        Assert.Contains("ALL", c.SecurityContext.Capabilities.Drop);
        Assert.False(pod.AutomountServiceAccountToken);
        Assert.NotNull(Volume(pod, c, "/tmp").EmptyDir);

        // The token Secret is mounted read-only where Var:Auth:TokensPath points.
        var tokens = env["Var__Auth__TokensPath"];
        var mount = Assert.Single(c.VolumeMounts, m => m.MountPath == tokens);
        Assert.True(mount.ReadOnlyProperty);
        Assert.Equal("var-tokens", Volume(pod, c, tokens).Secret.SecretName);

        CheckEnvironmentBinds(env.Keys);
    }

    /// <summary>The volume mounted at <paramref name="path"/> in <paramref name="c"/>.</summary>
    public static V1Volume Volume(V1PodSpec pod, V1Container c, string path)
    {
        var mount = Assert.Single(c.VolumeMounts, m => m.MountPath == path);
        return Assert.Single(pod.Volumes, v => v.Name == mount.Name);
    }

    /// <summary>Every Var__SECTION__KEY[__SUBKEY] variable names a real setting (a typo would be ignored silently by configuration binding).</summary>
    public static void CheckEnvironmentBinds(IEnumerable<string> names)
    {
        // Section "Var:Server" is the environment's Var__Server__…, and so on for each options class.
        var sections = new (string Section, Type Type)[]
        {
            (ServerOptions.Section, typeof(ServerOptions)), (AuthOptions.Section, typeof(AuthOptions)),
            (ModelOptions.Section, typeof(ModelOptions)), (SchedulerOptions.Section, typeof(SchedulerOptions)),
        }.ToDictionary(s => s.Section.Split(':')[1], s => s.Type, StringComparer.OrdinalIgnoreCase);
        foreach (var name in names.Where(n => n.StartsWith("Var__", StringComparison.Ordinal)))
        {
            var parts = name.Split("__");
            Assert.True(parts.Length >= 3 && sections.ContainsKey(parts[1]), $"{name}: no such section");
            var type = sections[parts[1]];
            foreach (var part in parts.Skip(2))
            {
                var property = type.GetProperty(part, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
                Assert.True(property is { CanWrite: true }, $"{name}: {type.Name} has no setting {part}");
                type = property!.PropertyType;
            }
        }
    }
}
