using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Var.Model.Checkpoints;

namespace Var.Cli.Commands;

/// <summary><c>var info</c>: prints the configuration detected from checkpoint files or stored in a model folder.</summary>
internal static class InfoCommand
{
    public static Command Create()
    {
        var models = new ModelArguments();
        var cmd = new Command("info", "Print the configuration detected from official checkpoints (--vae and/or --var) or stored in a model folder (--model), as JSON.");
        models.AddTo(cmd);
        cmd.SetAction(pr => CommandRunner.Run(() =>
        {
            var source = models.Source(pr);
            var info = new JsonObject();
            using var noGrad = no_grad();
            if (source.VarFile is null && source.VaeFile is null)
            {
                var folder = ModelLoader.ResolveModelFolder(source.Model ?? ModelLoader.DefaultModel);
                info["folder"] = folder;
                info["manifest"] = JsonSerializer.SerializeToNode(ModelManifest.Read(Path.Combine(folder, ModelManifest.FileName)), ModelManifest.Json);
            }
            int[]? schedule = source.PatchNums;
            if (source.VarFile is not null)
            {
                using var sd = StateDict.Read(source.VarFile);
                if (ConfigDetector.IsHmar(sd))
                {
                    var hmar = ConfigDetector.DetectHmar(sd);
                    if (schedule is not null) hmar = hmar with { Backbone = hmar.Backbone with { PatchNums = schedule } };
                    schedule = hmar.Backbone.PatchNums;
                    info["hmar"] = new JsonObject
                    {
                        ["file"] = source.VarFile,
                        ["entries"] = sd.Tensors.Count,
                        ["parameters"] = Parameters(sd),
                        ["config"] = ComponentEntry.ConfigFrom(hmar),
                        ["layout"] = $"base_blocks 0..{hmar.BaseDepth - 1} shared, ns_blocks and mask_blocks 0..{hmar.TailDepth - 1} (next-scale and masked tails)",
                        ["attention"] = "block-diagonal: each scale attends to its own tokens only",
                        ["decoders"] = new JsonArray("hmar"),
                        ["total_tokens"] = hmar.Backbone.TotalTokens,
                    };
                }
                else
                {
                    var config = ConfigDetector.DetectVar(sd, source.NumHeads);
                    if (schedule is not null) config = config with { PatchNums = schedule };
                    schedule = config.PatchNums;
                    info["var"] = new JsonObject
                    {
                        ["file"] = source.VarFile,
                        ["entries"] = sd.Tensors.Count,
                        ["parameters"] = Parameters(sd),
                        ["config"] = ComponentEntry.ConfigFrom(config),
                        ["attention"] = config.AttnL2Norm ? "l2-norm (scale_mul_1H11 present)" : "plain (0.25/sqrt(head_dim))",
                        ["total_tokens"] = config.TotalTokens,
                    };
                }
            }
            if (source.VaeFile is not null)
            {
                using var sd = StateDict.Read(source.VaeFile);
                var config = ConfigDetector.DetectVqvae(sd, schedule);
                info["vae"] = new JsonObject
                {
                    ["file"] = source.VaeFile,
                    ["entries"] = sd.Tensors.Count,
                    ["parameters"] = sd.Tensors.Where(kv => kv.Key != "quantize.ema_vocab_hit_SV").Sum(kv => kv.Value.NumberOfElements),
                    ["config"] = ComponentEntry.ConfigFrom(config),
                    ["downsample"] = config.Downsample,
                    ["image_size"] = config.ImageSize,
                    ["phi_map"] = new JsonArray(Enumerable.Range(0, config.NumScales).Select(si => (JsonNode)(config.ShareQuantResi == 0 ? si : Var.Model.Vqvae.ResidualQuantizer.PhiIndex(si, config.NumScales, config.PhiCount))).ToArray()),
                };
            }
            Console.WriteLine(info.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            return 0;
        }));
        return cmd;
    }

    /// <summary>Learned values of a transformer file (buffers: the attention mask and the zero k biases, left out).</summary>
    private static long Parameters(StateDict sd) => sd.Tensors
        .Where(kv => kv.Value.dtype.IsFloatingPoint() && !kv.Key.EndsWith("attn_bias_for_masking") && !kv.Key.EndsWith("zero_k_bias"))
        .Sum(kv => kv.Value.NumberOfElements);
}
