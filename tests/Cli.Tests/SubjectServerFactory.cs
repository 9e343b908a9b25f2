using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Var.Service.Services;

namespace Var.Cli.Tests;

/// <summary>The generation service in-process (TestServer) over a models folder (the service's <c>--models</c>).</summary>
public sealed class SubjectServerFactory(string modelsFolder) : WebApplicationFactory<GenerationService>
{
    /// <inheritdoc />
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("Var:Models:Folder", modelsFolder);
        builder.UseSetting("Var:Models:Default", "taught");
        builder.UseSetting("Var:Models:Threads", "1");
    }
}
