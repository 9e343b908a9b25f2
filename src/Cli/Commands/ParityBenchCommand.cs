using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Var.Model;
using Var.Model.Checkpoints;

namespace Var.Cli.Commands;

/// <summary>
/// <c>var bench parity --fixtures DIR --device cuda</c>: every tensor of the var-parity fixture (made by the official
/// code, float32) recomputed on a device from the fixture's .pth files, with TF32 off — the VQVAE's encode, tokens,
/// f̂, reconstruction and transformer input, and for both transformers (l2 attention, plain) the teacher-forced logits,
/// the KV-cached logits with CFG 1.5 per scale and the final image — each compared within 1e-4 (tokens exactly), as
/// tests/Model.Tests/VarParityTests does on the CPU. Prints JSON; exit code 0 when all pass, 1 otherwise.
/// </summary>
internal static class ParityBenchCommand
{
    private const double Tolerance = 1e-4;
    private static readonly int[] FixturePatchNums = [1, 2, 3, 4];

    public static Command Create()
    {
        var fixtures = new Option<string>("--fixtures") { Description = "The fixtures folder (holding var-parity/), e.g. ../shared/fixtures.", Required = true };
        var device = new Option<string>("--device") { Description = "cpu, cuda or cuda:N.", DefaultValueFactory = _ => "cpu" };
        var threads = new Option<int?>("--threads") { Description = "Torch intra-op threads (default: all cores)." };
        var cmd = new Command("parity", "Recompute every tensor of the var-parity fixture on a device (TF32 off) and compare within 1e-4; prints JSON, exit 1 on a mismatch.");
        foreach (var o in new Option[] { fixtures, device, threads }) cmd.Options.Add(o);
        cmd.SetAction(pr => CommandRunner.Run(() =>
        {
            ModelArguments.ApplyThreads(pr.GetValue(threads));
            var result = Run(Path.Combine(pr.GetValue(fixtures)!, "var-parity"), pr.GetValue(device)!);
            Console.WriteLine(result.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            return result["pass"]!.GetValue<bool>() ? 0 : 1;
        }));
        return cmd;
    }

    private static JsonObject Run(string dir, string deviceName)
    {
        var dev = ModelLoader.ParseDevice(deviceName);
        if (dev.type == DeviceType.CUDA)
        {
            // The fixture is fp32; TF32 matmuls/convolutions (cuDNN's default is on) are ~1e-3 off.
            backends.cuda.matmul.allow_tf32 = false;
            backends.cudnn.allow_tf32 = false;
        }
        var diffs = new JsonObject();
        double worst = 0;
        var failures = new JsonArray();
        void Close(Tensor expected, Tensor actual, string name)
        {
            if (!expected.shape.SequenceEqual(actual.shape))
            {
                failures.Add($"{name}: shape [{string.Join(",", actual.shape)}] vs [{string.Join(",", expected.shape)}]");
                return;
            }
            double d = (expected.to(ScalarType.Float64) - actual.cpu().to(ScalarType.Float64)).abs().max().item<double>();
            diffs[name] = d;
            worst = Math.Max(worst, d);
            if (!(d <= Tolerance)) failures.Add($"{name}: max abs diff {d:E3} > {Tolerance:E0}");
        }
        int tokenMaps = 0;
        void Same(Tensor expected, Tensor actual, string name)
        {
            tokenMaps++;
            if (!expected.shape.SequenceEqual(actual.shape) || !expected.eq(actual.cpu()).all().item<bool>()) failures.Add($"{name}: tokens differ");
        }

        using var expectedSd = StateDict.Read(Path.Combine(dir, "expected.safetensors"));
        var e = expectedSd.Tensors;
        using var noGrad = no_grad();
        foreach (var (prefix, file) in new[] { ("l2", "var_l2.pth"), ("plain", "var_plain.pth") })
        {
            using var model = ModelLoader.Load(new ModelSource
            {
                VaeFile = Path.Combine(dir, "vae.pth"),
                VarFile = Path.Combine(dir, file),
                PatchNums = FixturePatchNums,
                Device = deviceName,
            });
            using var scope = NewDisposeScope();
            var vae = model.Vqvae;
            var gtIdx = FixturePatchNums.Select((_, si) => e[$"vae.idx.{si}"].to(dev)).ToArray();
            if (prefix == "l2")
            {
                var f = vae.Encode(e["image"].to(dev));
                Close(e["vae.enc_f"], f, "vae.enc_f");
                var (idx, fHats) = vae.Quantizer.Quantize(f, keepFHats: true);
                for (int si = 0; si < idx.Length; si++) Same(e[$"vae.idx.{si}"], idx[si], $"vae.idx.{si}");
                Close(e["vae.f_hat"], fHats![^1], "vae.f_hat");
                Close(e["vae.f_hat"], vae.Quantizer.TokensToFHat(gtIdx), "vae.f_hat (from tokens)");
                Close(e["vae.recon"], vae.TokensToImage(gtIdx), "vae.recon");
                Close(e["vae.var_input"], vae.Quantizer.TokensToVarInput(gtIdx), "vae.var_input");
            }
            var var = model.Transformer;
            var labels = e["labels"].to(dev);
            Close(e[$"{prefix}.logits_teacher"], var.forward(labels, e["vae.var_input"].to(dev)), $"{prefix}.logits_teacher");

            // KV-cached steps with the fixture's tokens fed forward, CFG 1.5 on the ramp t = cfg·si/(K−1) (var.md §3).
            long b = labels.shape[0];
            int sn = var.Config.NumScales;
            var cond = var.ClassEmbedding(cat(new[] { labels, full(b, var.Config.NullClass, dtype: ScalarType.Int64, device: dev) }, 0));
            var mods = var.BlockModulations(cond);
            using var cache = var.NewCache();
            var x = var.StartInput(cond);
            int side = FixturePatchNums[^1];
            var fHat = zeros(new long[] { b, vae.Config.ZChannels, side, side }, device: dev);
            for (int si = 0; si < sn; si++)
            {
                var logits = var.CachedStep(x, mods, cond, cache);
                double t = 1.5 * si / (sn - 1);
                var guided = logits[..(int)b] * (1 + t) - logits[(int)b..] * t;
                Close(e[$"{prefix}.cached_logits_cond.{si}"], logits[..(int)b], $"{prefix}.cached_logits_cond.{si}");
                Close(e[$"{prefix}.cached_logits_guided.{si}"], guided, $"{prefix}.cached_logits_guided.{si}");
                fHat = vae.Quantizer.AddScale(si, fHat, vae.Quantizer.EmbedTokens(gtIdx[si]));
                if (si < sn - 1) x = var.ScaleInput(vae.Quantizer.DownToScale(fHat, si + 1), si + 1).repeat(2, 1, 1);
            }
            Close(e[$"{prefix}.final_image01"], vae.FHatToImage(fHat).add(1).div(2), $"{prefix}.final_image01");
        }
        return new JsonObject
        {
            ["fixture"] = Path.GetFullPath(dir),
            ["device"] = dev.ToString(),
            ["tf32"] = dev.type == DeviceType.CUDA ? new JsonObject { ["matmul"] = backends.cuda.matmul.allow_tf32, ["cudnn"] = backends.cudnn.allow_tf32 } : null,
            ["tolerance"] = Tolerance,
            ["tensors_compared"] = diffs.Count,
            ["token_maps_compared_exactly"] = tokenMaps,
            ["max_abs_diff"] = worst,
            ["max_abs_diff_per_tensor"] = diffs,
            ["failures"] = failures,
            ["pass"] = failures.Count == 0 && diffs.Count > 0,
        };
    }
}
