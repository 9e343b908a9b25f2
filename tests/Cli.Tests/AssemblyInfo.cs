// The batch tests share the machine's two cores with child processes and an in-process server: one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
