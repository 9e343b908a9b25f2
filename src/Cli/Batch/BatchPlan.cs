using Var.Cli.Commands;

namespace Var.Cli.Batch;

/// <summary>
/// The images of a jobs file: every job checked by a resolver and expanded into named images (in line order), the
/// lines that cannot run, and which images this shard makes. File names are unique across the plan.
/// </summary>
internal sealed class BatchPlan
{
    private BatchPlan(IReadOnlyList<BatchJob> jobs, IReadOnlyList<BatchItem> items, IReadOnlyList<JobLineError> errors)
    {
        Jobs = jobs;
        Items = items;
        Errors = errors;
    }

    /// <summary>The jobs that can run, in line order.</summary>
    public IReadOnlyList<BatchJob> Jobs { get; }

    /// <summary>Every image of those jobs (all shards), in line order then seed order.</summary>
    public IReadOnlyList<BatchItem> Items { get; }

    /// <summary>Lines that cannot run (malformed, or refused by the resolver), by line number.</summary>
    public IReadOnlyList<JobLineError> Errors { get; }

    /// <summary>Checks and expands <paramref name="jobs"/>; <paramref name="readErrors"/> are the reader's errors, kept in line order.</summary>
    public static BatchPlan Create(IReadOnlyList<BatchJob> jobs, IEnumerable<JobLineError> readErrors, IJobResolver resolver)
    {
        var errors = readErrors.ToList();
        var accepted = new List<BatchJob>();
        var items = new List<BatchItem>();
        var owner = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var job in jobs)
        {
            (int ClassId, string ClassName) cls;
            try
            {
                cls = resolver.Resolve(job);
            }
            catch (Exception e) when (e is ArgumentException or FileNotFoundException or NotSupportedException or InvalidOperationException or IOException)
            {
                errors.Add(new JobLineError(job.Line, e.Message));
                continue;
            }
            var files = job.Seeds.Select(seed => FileName(job, cls.ClassId, cls.ClassName, seed)).ToList();
            if (files.FirstOrDefault(owner.ContainsKey) is { } clash)
            {
                errors.Add(new JobLineError(job.Line, $"makes {clash}, which line {owner[clash]} also makes; give the job its own 'name'"));
                continue;
            }
            foreach (var file in files) owner[file] = job.Line;
            accepted.Add(job);
            items.AddRange(job.Seeds.Select((seed, i) => new BatchItem(job, i, seed, cls.ClassId, cls.ClassName, files[i])));
        }
        return new BatchPlan(accepted, items, errors.OrderBy(e => e.Line).ToList());
    }

    /// <summary>The images of <paramref name="shard"/>.</summary>
    public IReadOnlyList<BatchItem> ItemsOf(ShardSpec shard) => Items.Where(i => shard.Holds(i.File)).ToList();

    // As var generate / var edit name their files, or "<name>_s<seed>.png" for a named job.
    private static string FileName(BatchJob job, int classId, string className, long seed)
    {
        if (job.Name is { } name) return $"{name}_s{seed}.png";
        var plain = GenerateCommand.FileName(className, classId, seed);
        return job.IsEdit ? $"{Path.GetFileNameWithoutExtension(job.Image)}_{EditInput.NameOf(EditInput.ParseMode(job.Mode))}_{plain}" : plain;
    }
}
