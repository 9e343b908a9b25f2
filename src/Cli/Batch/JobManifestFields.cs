using System.Text.Json.Nodes;

namespace Var.Cli.Batch;

/// <summary>The batch's own fields of a manifest line: which job line made the image, and the line itself.</summary>
internal static class JobManifestFields
{
    /// <summary>Adds <c>job_line</c>, <c>job</c> and, for edits, the image, mode, mask and box.</summary>
    public static JsonObject WithJob(this JsonObject line, BatchJob job)
    {
        line["job_line"] = job.Line;
        line["job"] = job.Source.DeepClone();
        if (job.IsEdit)
        {
            line["image"] = job.Image;
            line["mode"] = job.Mode ?? "inpaint";
            line["mask"] = job.Mask;
            line["box"] = job.Box;
        }
        return line;
    }
}
