using Var.Service.Hosting;

var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.AddGenerationServices(args);
var app = builder.Build();
app.MapGenerationServices();
app.Run();

/// <summary>The service's entry point; public so that tests can host it with WebApplicationFactory.</summary>
public partial class Program;
