using System.Globalization;

namespace Var.Training.Evaluation;

/// <summary>Judged quality of a set of images with requested labels.</summary>
/// <param name="Images">Number of images.</param>
/// <param name="JudgeAccuracy">Fraction the judge classifies as the requested class.</param>
/// <param name="PerClassAccuracy">Judge accuracy per requested class (NaN where none was requested).</param>
/// <param name="Fd">Fréchet distance in judge features to the whole test set.</param>
/// <param name="FdFloor">The same distance for as many real train images with the same labels (the real-data floor).</param>
public sealed record EvaluationResult(int Images, double JudgeAccuracy, double[] PerClassAccuracy, double Fd, double FdFloor)
{
    /// <summary>FD as a multiple of the floor.</summary>
    public double FdRatio => Fd / FdFloor;

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Images} images: judge accuracy {JudgeAccuracy:F3}, FD {Fd:F2} (floor {FdFloor:F2}, {FdRatio:F1}x)");
}
