using System.Collections;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp.PyBridge;

namespace Var.Model.Checkpoints;

/// <summary>
/// A named set of tensors read from a checkpoint file (PyTorch zip <c>.pth</c> or safetensors), owned by this object
/// (detached from dispose scopes) and freed on <see cref="Dispose"/>.
/// </summary>
public sealed class StateDict : IDisposable
{
    private readonly Dictionary<string, Tensor> tensors;

    private StateDict(string file, Dictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        File = file;
        this.tensors = tensors;
        Metadata = metadata;
        foreach (var t in tensors.Values) t.DetachFromDisposeScope();
    }

    /// <summary>The file the tensors came from.</summary>
    public string File { get; }

    /// <summary>Free-form string metadata (safetensors <c>__metadata__</c>); empty for .pth files.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Key → tensor.</summary>
    public IReadOnlyDictionary<string, Tensor> Tensors => tensors;

    /// <summary>Whether <paramref name="key"/> is present.</summary>
    public bool Has(string key) => tensors.ContainsKey(key);

    /// <summary>Shape of <paramref name="key"/>, or a <see cref="CheckpointException"/> naming the missing key.</summary>
    public long[] Shape(string key) =>
        tensors.TryGetValue(key, out var t) ? t.shape : throw new CheckpointException(File, $"missing key '{key}'");

    /// <summary>Reads a checkpoint, choosing the format by content (zip = PyTorch, otherwise safetensors).</summary>
    public static StateDict Read(string file)
    {
        if (!System.IO.File.Exists(file)) throw new CheckpointException(file, "file not found");
        Span<byte> head = stackalloc byte[4];
        using (var probe = System.IO.File.OpenRead(file))
        {
            if (probe.Read(head) < 4) throw new CheckpointException(file, "file is empty or truncated");
        }
        return head[0] == 0x50 && head[1] == 0x4B ? ReadPth(file) : ReadSafetensors(file);
    }

    /// <summary>Reads a PyTorch state dict saved with <c>torch.save(model.state_dict())</c> (zip format).</summary>
    public static StateDict ReadPth(string file)
    {
        try
        {
            using var scope = NewDisposeScope();
            Hashtable table = PyTorchUnpickler.UnpickleStateDict(file);
            var dict = new Dictionary<string, Tensor>();
            foreach (DictionaryEntry e in table)
            {
                if (e.Value is Tensor t) dict[(string)e.Key] = t.MoveToOuterDisposeScope();
            }
            if (dict.Count == 0) throw new CheckpointException(file, "holds no tensors (is it a state dict?)");
            return new StateDict(file, dict, new Dictionary<string, string>());
        }
        catch (CheckpointException)
        {
            throw;
        }
        catch (InvalidDataException e)
        {
            throw new CheckpointException(file, $"not a readable PyTorch zip checkpoint (truncated or corrupted: {e.Message})", e);
        }
        catch (NotImplementedException e)
        {
            throw new CheckpointException(file, $"unsupported checkpoint layout: {e.Message}", e);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new CheckpointException(file, $"cannot read as a PyTorch state dict ({e.GetType().Name}: {e.Message})", e);
        }
    }

    /// <summary>Reads a safetensors file (8-byte little-endian header length, JSON header, raw data).</summary>
    public static StateDict ReadSafetensors(string file)
    {
        try
        {
            using var stream = System.IO.File.OpenRead(file);
            var lenBytes = new byte[8];
            stream.ReadExactly(lenBytes);
            ulong headerLen = BitConverter.ToUInt64(lenBytes);
            if (headerLen == 0 || headerLen > 100_000_000 || (long)headerLen > stream.Length - 8)
                throw new CheckpointException(file, "not a safetensors file (bad header length) and not a PyTorch zip checkpoint");
            var headerBytes = new byte[headerLen];
            stream.ReadExactly(headerBytes);
            var header = JsonNode.Parse(Encoding.UTF8.GetString(headerBytes))?.AsObject()
                ?? throw new CheckpointException(file, "safetensors header is not a JSON object");
            long dataStart = 8 + (long)headerLen;
            var meta = new Dictionary<string, string>();
            var dict = new Dictionary<string, Tensor>();
            using var scope = NewDisposeScope();
            foreach (var (key, node) in header)
            {
                if (key == "__metadata__")
                {
                    foreach (var (mk, mv) in node!.AsObject()) meta[mk] = mv?.GetValue<string>() ?? "";
                    continue;
                }
                var entry = node!.AsObject();
                var dtype = ParseDType(entry["dtype"]!.GetValue<string>(), file, key);
                var shape = entry["shape"]!.AsArray().Select(n => n!.GetValue<long>()).ToArray();
                var offsets = entry["data_offsets"]!.AsArray().Select(n => n!.GetValue<long>()).ToArray();
                long length = offsets[1] - offsets[0];
                var t = empty(shape, dtype: dtype);
                if (length != t.NumberOfElements * t.ElementSize)
                    throw new CheckpointException(file, $"key '{key}': {length} bytes stored for shape [{string.Join(",", shape)}]");
                if (dataStart + offsets[1] > stream.Length)
                    throw new CheckpointException(file, $"truncated: key '{key}' ends past the end of the file");
                stream.Position = dataStart + offsets[0];
                var bytes = new byte[length];
                stream.ReadExactly(bytes);
                t.bytes = bytes;
                dict[key] = t.MoveToOuterDisposeScope();
            }
            return new StateDict(file, dict, meta);
        }
        catch (CheckpointException)
        {
            throw;
        }
        catch (Exception e) when (e is EndOfStreamException or JsonException or InvalidOperationException or NullReferenceException or FormatException)
        {
            throw new CheckpointException(file, $"corrupted or truncated safetensors file ({e.Message})", e);
        }
    }

    /// <summary>Writes tensors (moved to CPU) as safetensors with optional string metadata, atomically (temp file + rename).</summary>
    public static void WriteSafetensors(string file, IEnumerable<(string Key, Tensor Value)> items, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var list = items.ToList();
        var header = new JsonObject();
        if (metadata is { Count: > 0 })
        {
            var m = new JsonObject();
            foreach (var (k, v) in metadata) m[k] = v;
            header["__metadata__"] = m;
        }
        long offset = 0;
        var payloads = new List<byte[]>();
        foreach (var (key, value) in list)
        {
            using var cpu = value.detach().cpu().contiguous();
            var bytes = cpu.bytes.ToArray();
            header[key] = new JsonObject
            {
                ["dtype"] = DTypeName(cpu.dtype),
                ["shape"] = new JsonArray(cpu.shape.Select(s => (JsonNode)s).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + bytes.Length),
            };
            offset += bytes.Length;
            payloads.Add(bytes);
        }
        var headerBytes = Encoding.UTF8.GetBytes(header.ToJsonString());
        int pad = (8 - headerBytes.Length % 8) % 8;
        if (pad > 0) headerBytes = headerBytes.Concat(Enumerable.Repeat((byte)' ', pad)).ToArray();
        string tmp = file + ".tmp";
        using (var stream = System.IO.File.Create(tmp))
        {
            stream.Write(BitConverter.GetBytes((ulong)headerBytes.Length));
            stream.Write(headerBytes);
            foreach (var p in payloads) stream.Write(p);
        }
        System.IO.File.Move(tmp, file, overwrite: true);
    }

    private static ScalarType ParseDType(string name, string file, string key) => name switch
    {
        "F64" => ScalarType.Float64,
        "F32" => ScalarType.Float32,
        "F16" => ScalarType.Float16,
        "BF16" => ScalarType.BFloat16,
        "I64" => ScalarType.Int64,
        "I32" => ScalarType.Int32,
        "I16" => ScalarType.Int16,
        "I8" => ScalarType.Int8,
        "U8" => ScalarType.Byte,
        "BOOL" => ScalarType.Bool,
        _ => throw new CheckpointException(file, $"key '{key}': unsupported dtype {name}"),
    };

    private static string DTypeName(ScalarType t) => t switch
    {
        ScalarType.Float64 => "F64",
        ScalarType.Float32 => "F32",
        ScalarType.Float16 => "F16",
        ScalarType.BFloat16 => "BF16",
        ScalarType.Int64 => "I64",
        ScalarType.Int32 => "I32",
        ScalarType.Int16 => "I16",
        ScalarType.Int8 => "I8",
        ScalarType.Byte => "U8",
        ScalarType.Bool => "BOOL",
        _ => throw new ArgumentException($"unsupported dtype {t}"),
    };

    /// <summary>Copies every tensor into <paramref name="module"/> with strict key and shape checks.</summary>
    /// <param name="module">The target module.</param>
    /// <param name="prefix">Key prefix to strip (e.g. "vae."), or empty.</param>
    /// <param name="tolerated">Keys whose first-dimension size may differ; the module keeps its own value for them.</param>
    public void LoadInto(nn.Module module, string prefix = "", IReadOnlySet<string>? tolerated = null)
    {
        var own = module.state_dict();
        var mine = tensors.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key[prefix.Length..], kv => kv.Value);
        foreach (var key in own.Keys.OrderBy(k => k, StringComparer.Ordinal))
        {
            if (!mine.ContainsKey(key)) throw new CheckpointException(File, $"missing key '{prefix}{key}' (expected shape [{string.Join(",", own[key].shape)}])");
        }
        foreach (var key in mine.Keys.OrderBy(k => k, StringComparer.Ordinal))
        {
            if (!own.ContainsKey(key)) throw new CheckpointException(File, $"unexpected key '{prefix}{key}'");
        }
        using var noGrad = no_grad();
        foreach (var (key, target) in own)
        {
            var src = mine[key];
            if (!src.shape.SequenceEqual(target.shape))
            {
                if (tolerated?.Contains(key) == true) continue;
                throw new CheckpointException(File, $"key '{prefix}{key}' has shape [{string.Join(",", src.shape)}], the model expects [{string.Join(",", target.shape)}]");
            }
            if (src.dtype.IsFloatingPoint() != target.dtype.IsFloatingPoint() && target.dtype != ScalarType.Bool)
                throw new CheckpointException(File, $"key '{prefix}{key}' has dtype {src.dtype}, the model expects {target.dtype}");
            target.copy_(src);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var t in tensors.Values) t.Dispose();
        tensors.Clear();
    }
}
