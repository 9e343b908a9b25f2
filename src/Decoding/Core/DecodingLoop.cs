namespace Var.Decoding.Core;

/// <summary>
/// The one decoding loop every decoder runs (var.md §3): per scale, drop cancelled rows, let the plan's step produce
/// logits, draw (guidance, filters, temperature, seeded draw, constraint, embedding), commit to the session (f̂ and
/// the next input), and run the hooks.
/// </summary>
public static class DecodingLoop
{
    /// <summary>
    /// Runs the scales of <paramref name="plan"/> that <paramref name="session"/> has not drawn yet. Call inside a
    /// dispose scope and inference mode. <paramref name="cancellation"/> aborts with OperationCanceledException at the
    /// next scale; rows whose own request is cancelled leave the batch there.
    /// </summary>
    public static void Run(DecodingPlan plan, DecodingSession session, CancellationToken cancellation = default)
    {
        if (plan.NumScales != session.NumScales) throw new ArgumentException($"the plan has {plan.NumScales} scales, the model {session.NumScales}", nameof(plan));
        if (session.ScalesDone == 0)
            foreach (var hook in plan.Hooks) hook.BeforeFirstScale(session);
        for (int si = session.ScalesDone; si < session.NumScales; si++)
        {
            cancellation.ThrowIfCancellationRequested();
            if (!session.DropCancelled()) return;
            using var scope = NewDisposeScope();
            var step = plan.StepFor(si);
            session.PassObserver = plan.Hooks.Count == 0 ? null : (done, passes, fixedTokens) =>
            {
                foreach (var hook in plan.Hooks) hook.AfterPass(session, si, done, passes, fixedTokens);
            };
            session.CountPass(session.PatchNums[si] * session.PatchNums[si]);
            var logits = step.Logits(session, si);
            var (idxBl, hBChw) = step.Draw(session, si, logits, plan.SamplingAt(si), plan.Constraint);
            session.PassObserver = null;
            session.Commit(si, idxBl, hBChw);
            foreach (var hook in plan.Hooks) hook.AfterScale(session, si);
        }
    }
}
