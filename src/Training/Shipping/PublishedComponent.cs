namespace Var.Training.Shipping;

/// <summary>One component to publish: its role in model.json, the run folder it comes from and its storage dtype.</summary>
/// <param name="Role">"vqvae", "var", "refiner", "hmar", "reward", "judge" or "judge2".</param>
/// <param name="RunDirectory">Run folder holding model.safetensors and summary.json.</param>
/// <param name="StoreBf16">Store floating tensors as bfloat16 (transformers; they are converted back on load).</param>
public sealed record PublishedComponent(string Role, string RunDirectory, bool StoreBf16 = false);
