using Var.Model;

namespace Var.Service.Models;

/// <summary>Loads models by name. Called on the scheduler's torch thread only.</summary>
public interface IModelProvider
{
    /// <summary>Loads model <paramref name="name"/> (a name under the models folder or a folder path) on the configured device.</summary>
    ModelBundle Load(string name);
}
