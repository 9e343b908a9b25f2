using Microsoft.Extensions.Options;
using Var.Model;
using Var.Model.Checkpoints;
using Var.Service.Options;

namespace Var.Service.Models;

/// <summary>Loads the project's model folders (model.json + safetensors) from <see cref="ModelOptions.Folder"/> or weights/.</summary>
public sealed class FolderModelProvider(IOptions<ModelOptions> options) : IModelProvider
{
    /// <inheritdoc />
    public GenerativeModel Load(string name)
    {
        var o = options.Value;
        var path = name;
        var folder = string.IsNullOrWhiteSpace(o.Folder) ? ModelLoader.WeightsDirectory() : o.Folder;
        if (!Directory.Exists(name) && folder is not null) path = Path.Combine(folder, name);
        if (!File.Exists(Path.Combine(path, ModelManifest.FileName)))
        {
            var known = folder is not null && Directory.Exists(folder)
                ? Directory.EnumerateDirectories(folder).Where(d => File.Exists(Path.Combine(d, ModelManifest.FileName))).Select(Path.GetFileName).ToList()
                : [];
            throw new CheckpointException(path, $"model '{name}' not found (no {ModelManifest.FileName})" +
                (folder is null ? "; no weights/ folder found: set Var:Models:Folder or VAR_WEIGHTS" : $" in {folder}") +
                (known.Count > 0 ? $"; available: {string.Join(", ", known)}" : ""));
        }
        return ModelLoader.Load(new ModelSource { Model = path, Device = o.Device, DType = o.DType });
    }
}
