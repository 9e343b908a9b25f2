using Microsoft.Extensions.Options;
using Var.Model;
using Var.Model.Checkpoints;
using Var.Service.Options;

namespace Var.Service.Models;

/// <summary>Loads the project's model folders (model.json + safetensors) from <see cref="ModelOptions.Folder"/> or weights/.</summary>
public sealed class FolderModelProvider(IOptions<ModelOptions> options) : IModelProvider
{
    /// <inheritdoc />
    public ModelBundle Load(string name)
    {
        var o = options.Value;
        var folder = ModelLoader.ResolveModelFolder(name, o.Folder);
        return ModelLoader.Load(new ModelSource { Model = folder, Device = o.Device, DType = o.DType });
    }
}
