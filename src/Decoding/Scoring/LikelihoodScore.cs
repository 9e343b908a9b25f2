namespace Var.Decoding.Scoring;

/// <summary>Negative log-likelihood of an image's tokens per scale (nats per token) and over all tokens.</summary>
public sealed record LikelihoodScore(double[] NllPerScale, double NllMean, int[] TokensPerScale);
