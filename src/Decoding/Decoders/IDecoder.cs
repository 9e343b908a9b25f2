using Var.Decoding.Core;
using Var.Model;

namespace Var.Decoding.Decoders;

/// <summary>A decoding method: a plan on the one loop, and the key that says which requests may share a batch.</summary>
public interface IDecoder
{
    /// <summary>The decoder's name in requests and manifests ("var", …).</summary>
    string Kind { get; }

    /// <summary>
    /// Requests of the same model whose decoders have equal keys may share a batch (same kind and every setting that
    /// is not per row, e.g. the transformers used).
    /// </summary>
    string BatchKey { get; }

    /// <summary>Batch rows one image occupies at its widest (a search's first candidates; 1 for the other decoders).</summary>
    int RowsPerImage(ModelBundle model) => 1;

    /// <summary>The plan for <paramref name="model"/>; throws <see cref="ArgumentException"/> when the model lacks a part it needs.</summary>
    DecodingPlan Plan(ModelBundle model);
}
