namespace Var.Training.Evaluation;

/// <summary>
/// One judge's full view of a generated set, each figure beside its real-data floor at the same sample size: what real
/// train images with the same labels score against the real test images.
/// </summary>
/// <param name="Role">The judge's component role ("judge", "judge2", …).</param>
/// <param name="Result">Accuracy, per-class accuracy, Fréchet distance to the whole test set and its floor.</param>
/// <param name="Coverage">Precision and recall (k = 3) against as many label-matched test images.</param>
/// <param name="CoverageFloor">The same for as many label-matched real train images.</param>
/// <param name="PerClassFd">Fréchet distance of each class's images to the test images of that class (NaN where none).</param>
/// <param name="PerClassFdFloor">The same for as many real train images of that class.</param>
public sealed record JudgeReport(string Role, EvaluationResult Result, PrecisionRecall Coverage, PrecisionRecall CoverageFloor,
    double[] PerClassFd, double[] PerClassFdFloor);
