using System.Text.RegularExpressions;
using Var.Model.Transformer;
using Var.Model.Vqvae;

namespace Var.Model.Checkpoints;

/// <summary>
/// Detects model configurations from state-dict keys and shapes (var.md §2.1–2.2, §6): what cannot be detected
/// (norm epsilon, the VQVAE's schedule when no VAR is given) comes from defaults or overrides.
/// </summary>
public static partial class ConfigDetector
{
    /// <summary>The official 256² schedule (var.md §1.6).</summary>
    public static readonly int[] Official256 = [1, 2, 3, 4, 5, 6, 8, 10, 13, 16];

    /// <summary>The official 512² schedule of d36 (var.md §5).</summary>
    public static readonly int[] Official512 = [1, 2, 3, 4, 6, 9, 13, 18, 24, 32];

    [GeneratedRegex(@"^blocks\.(\d+)\.")]
    private static partial Regex BlockIndex();

    [GeneratedRegex(@"^encoder\.down\.(\d+)\.block\.(\d+)\.conv1\.weight$")]
    private static partial Regex EncoderBlock();

    /// <summary>Detects a VAR transformer's configuration. <paramref name="numHeads"/> overrides the head count
    /// (needed only for plain attention, where it cannot be read off; default width / 64).</summary>
    public static VarConfig DetectVar(StateDict sd, int? numHeads = null)
    {
        var cls = sd.Shape("class_emb.weight");
        var head = sd.Shape("head.weight");
        var word = sd.Shape("word_embed.weight");
        int width = (int)cls[1];
        int depth = sd.Tensors.Keys.Select(k => BlockIndex().Match(k)).Where(m => m.Success)
            .Select(m => int.Parse(m.Groups[1].Value)).DefaultIfEmpty(-1).Max() + 1;
        if (depth < 1) throw new CheckpointException(sd.File, "no 'blocks.N.*' keys: not a VAR transformer checkpoint");
        bool l2 = sd.Has("blocks.0.attn.scale_mul_1H11");
        int heads = numHeads ?? (l2 ? (int)sd.Shape("blocks.0.attn.scale_mul_1H11")[1] : Math.Max(1, width / 64));
        int hidden = (int)sd.Shape("blocks.0.ffn.fc1.weight")[0];
        return new VarConfig
        {
            Depth = depth,
            EmbedDim = width,
            NumHeads = heads,
            NumClasses = (int)cls[0] - 1,
            VocabSize = (int)head[0],
            VaeChannels = (int)word[1],
            PatchNums = PatchNumsFromLevels(sd),
            AttnL2Norm = l2,
            SharedAdaLn = sd.Has("shared_ada_lin.1.weight"),
            MlpRatio = hidden / (double)width,
        };
    }

    [GeneratedRegex(@"^(base_blocks|ns_blocks|mask_blocks)\.(\d+)\.")]
    private static partial Regex HmarBlockIndex();

    /// <summary>Whether a transformer checkpoint has the HMAR layout (hmar.md §1: base, next-scale and masked stacks).</summary>
    public static bool IsHmar(StateDict sd) => sd.Has("ns_head.weight") || sd.Has("mask_head.weight") || sd.Has("word_embed_bias");

    /// <summary>Detects an HMAR transformer's configuration (official <c>hmar-d*.pth</c> layout, hmar.md §1).</summary>
    public static HmarConfig DetectHmar(StateDict sd)
    {
        var cls = sd.Shape("class_emb.weight");
        var head = sd.Shape("ns_head.weight");
        var word = sd.Shape("word_embed.weight");
        var counts = new Dictionary<string, int> { ["base_blocks"] = 0, ["ns_blocks"] = 0, ["mask_blocks"] = 0 };
        foreach (var m in sd.Tensors.Keys.Select(k => HmarBlockIndex().Match(k)).Where(m => m.Success))
            counts[m.Groups[1].Value] = Math.Max(counts[m.Groups[1].Value], int.Parse(m.Groups[2].Value) + 1);
        int tail = counts["ns_blocks"];
        if (tail < 1) throw new CheckpointException(sd.File, "no 'ns_blocks.N.*' keys: not an HMAR checkpoint");
        if (counts["mask_blocks"] != tail)
            throw new CheckpointException(sd.File, $"{counts["mask_blocks"]} masked-prediction blocks for {tail} next-scale blocks: the two tails must have the same depth");
        int width = (int)cls[1];
        string first = counts["base_blocks"] > 0 ? "base_blocks.0" : "ns_blocks.0";
        bool l2 = sd.Has($"{first}.attn.scale_mul_1H11");
        int hidden = (int)sd.Shape($"{first}.ffn.fc1.weight")[0];
        var backbone = new VarConfig
        {
            Depth = counts["base_blocks"] + tail,
            EmbedDim = width,
            NumHeads = l2 ? (int)sd.Shape($"{first}.attn.scale_mul_1H11")[1] : Math.Max(1, width / 64),
            NumClasses = (int)cls[0] - 1,
            VocabSize = (int)head[0],
            VaeChannels = (int)word[1],
            PatchNums = PatchNumsFromLevels(sd),
            AttnL2Norm = l2,
            MlpRatio = hidden / (double)width,
        };
        return new HmarConfig { Backbone = backbone, TailDepth = tail };
    }

    /// <summary>The schedule from the <c>lvl_1L</c> buffer (tokens per level = pn²), or from the position table's length.</summary>
    private static int[] PatchNumsFromLevels(StateDict sd)
    {
        if (sd.Tensors.TryGetValue("lvl_1L", out var lvl))
        {
            var levels = lvl.to(ScalarType.Int64).data<long>().ToArray();
            var counts = levels.GroupBy(v => v).OrderBy(g => g.Key).Select(g => g.Count()).ToArray();
            var pns = counts.Select(c => (int)Math.Round(Math.Sqrt(c))).ToArray();
            if (pns.Zip(counts).All(p => p.First * p.First == p.Second)) return pns;
            throw new CheckpointException(sd.File, "lvl_1L does not describe square token maps");
        }
        long l = sd.Shape("pos_1LC")[1];
        int sn = (int)sd.Shape("lvl_embed.weight")[0];
        foreach (var known in new[] { Official256, Official512 })
        {
            if (known.Length == sn && known.Sum(p => p * p) == l) return known;
        }
        var simple = Enumerable.Range(1, sn).ToArray();
        if (simple.Sum(p => p * p) == l) return simple;
        throw new CheckpointException(sd.File, $"cannot infer the scale schedule from {sn} levels and {l} positions; pass it explicitly");
    }

    /// <summary>
    /// Detects a VQVAE's configuration. The schedule is not stored in the file: it comes from
    /// <paramref name="patchNums"/> (e.g. the paired VAR's), else the official 256² schedule for 10 scales, else 1..SN.
    /// </summary>
    public static VqvaeConfig DetectVqvae(StateDict sd, int[]? patchNums = null)
    {
        int ch = (int)sd.Shape("encoder.conv_in.weight")[0];
        int inChannels = (int)sd.Shape("encoder.conv_in.weight")[1];
        var qc = sd.Shape("quant_conv.weight");
        var emb = sd.Shape("quantize.embedding.weight");
        var blocks = sd.Tensors.Keys.Select(k => EncoderBlock().Match(k)).Where(m => m.Success)
            .Select(m => (Level: int.Parse(m.Groups[1].Value), Block: int.Parse(m.Groups[2].Value))).ToList();
        if (blocks.Count == 0) throw new CheckpointException(sd.File, "no 'encoder.down.N.block.M.*' keys: not a VQVAE checkpoint");
        int levels = blocks.Max(b => b.Level) + 1;
        int numRes = blocks.Where(b => b.Level == 0).Max(b => b.Block) + 1;
        var mult = Enumerable.Range(0, levels)
            .Select(i => (int)(sd.Shape($"encoder.down.{i}.block.{numRes - 1}.conv1.weight")[0] / ch)).ToArray();
        int share;
        if (sd.Has("quantize.quant_resi.qresi.weight")) share = 1;
        else if (sd.Has("quantize.quant_resi.qresi_ls.0.weight"))
            share = sd.Tensors.Keys.Count(k => k.StartsWith("quantize.quant_resi.qresi_ls.") && k.EndsWith(".weight"));
        else share = 0;
        int sn = sd.Has("quantize.ema_vocab_hit_SV") ? (int)sd.Shape("quantize.ema_vocab_hit_SV")[0] : 0;
        if (share == 0) sn = sd.Tensors.Keys.Count(k => k.StartsWith("quantize.quant_resi.") && k.EndsWith(".weight"));
        int[] schedule = patchNums ?? (sn == Official256.Length ? Official256 : sn > 0 ? Enumerable.Range(1, sn).ToArray() : Official256);
        return new VqvaeConfig
        {
            VocabSize = (int)emb[0],
            ZChannels = (int)qc[0],
            Ch = ch,
            ChMult = mult,
            NumResBlocks = numRes,
            UsingSa = sd.Has($"encoder.down.{levels - 1}.attn.0.qkv.weight"),
            UsingMidSa = sd.Has("encoder.mid.attn_1.qkv.weight"),
            ShareQuantResi = share,
            QuantConvKernel = (int)qc[2],
            PatchNums = schedule,
            InChannels = inChannels,
        };
    }
}
