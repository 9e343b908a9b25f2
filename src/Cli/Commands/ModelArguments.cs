using System.CommandLine;
using Var.Model;
using Var.Model.Checkpoints;

namespace Var.Cli.Commands;

/// <summary>The model-selection options shared by every command that loads a generator.</summary>
internal sealed class ModelArguments
{
    public readonly Option<string?> Model = new("--model") { Description = $"Model name under weights/ or a folder with model.json (default: {ModelLoader.DefaultModel}). Ignored with --vae/--var." };
    public readonly Option<string?> Vae = new("--vae") { Description = "Official VQVAE checkpoint (.pth), e.g. vae_ch160v4096z32.pth." };
    public readonly Option<string?> Var = new("--var") { Description = "Official VAR or HMAR checkpoint (.pth), e.g. var_d16.pth or hmar-d16.pth (the layout is detected)." };
    public readonly Option<string?> Refiner = new("--refiner") { Description = "Official VAR checkpoint of a CoDe refiner (.pth, e.g. refiner_8.pth or var_d16.pth), with --vae/--var and --decoder code." };
    public readonly Option<string> Role = new("--transformer") { Description = "Which transformer of a model folder: var (default) or refiner.", DefaultValueFactory = _ => "var" };
    public readonly Option<int?> Heads = new("--heads") { Description = "Attention heads, for checkpoints where it cannot be detected (plain attention; default width/64)." };
    public readonly Option<string?> PatchNums = new("--patch-nums") { Description = "Scale schedule override, e.g. 1,2,3,4,5,6,8,10,13,16." };
    public readonly Option<string> Device = new("--device") { Description = "cpu or cuda.", DefaultValueFactory = _ => "cpu" };
    public readonly Option<string> DType = new("--dtype") { Description = "Transformer precision: float32 or bfloat16.", DefaultValueFactory = _ => "float32" };
    public readonly Option<int?> Threads = new("--threads") { Description = "Torch intra-op threads (default: all cores)." };

    public void AddTo(Command cmd)
    {
        foreach (var o in new Option[] { Model, Vae, Var, Refiner, Role, Heads, PatchNums, Device, DType, Threads }) cmd.Options.Add(o);
    }

    public ModelSource Source(ParseResult pr) => new()
    {
        Model = pr.GetValue(Model),
        VaeFile = pr.GetValue(Vae),
        VarFile = pr.GetValue(Var),
        RefinerFile = pr.GetValue(Refiner),
        Role = pr.GetValue(Role) ?? "var",
        NumHeads = pr.GetValue(Heads),
        PatchNums = ParseInts(pr.GetValue(PatchNums)),
        Device = pr.GetValue(Device) ?? "cpu",
        DType = pr.GetValue(DType) ?? "float32",
    };

    public ModelBundle Load(ParseResult pr)
    {
        ApplyThreads(pr.GetValue(Threads));
        return ModelLoader.Load(Source(pr));
    }

    public static void ApplyThreads(int? threads)
    {
        if (threads is > 0) set_num_threads(threads.Value);
    }

    public static int[]? ParseInts(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        try
        {
            return text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
        }
        catch (FormatException)
        {
            throw new ArgumentException($"'{text}' is not a comma-separated list of integers");
        }
    }
}
