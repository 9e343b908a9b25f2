namespace Var.Training.Data;

/// <summary>The ten Fashion-MNIST class names by id (DESIGN.md "Images and classes").</summary>
public static class FashionMnistClasses
{
    /// <summary>Class names, index = class id.</summary>
    public static IReadOnlyList<string> Names { get; } =
        ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot"];

    /// <summary>Number of classes.</summary>
    public const int Count = 10;
}
