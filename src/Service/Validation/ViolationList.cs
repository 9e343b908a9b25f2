using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;

namespace Var.Service.Validation;

/// <summary>
/// Collects field violations of one request and turns them into INVALID_ARGUMENT carrying a google.rpc.BadRequest in
/// the status details (the standard rich error model), with every violation also in the message.
/// </summary>
public sealed class ViolationList
{
    private readonly BadRequest badRequest = new();

    /// <summary>Number of violations so far.</summary>
    public int Count => badRequest.FieldViolations.Count;

    /// <summary>Adds a violation of <paramref name="field"/> (the proto field path, e.g. "top_p").</summary>
    public void Add(string field, string description) =>
        badRequest.FieldViolations.Add(new BadRequest.Types.FieldViolation { Field = field, Description = description });

    /// <summary>Throws INVALID_ARGUMENT when any violation was added.</summary>
    public void ThrowIfAny()
    {
        if (Count == 0) return;
        throw Invalid(badRequest);
    }

    /// <summary>An INVALID_ARGUMENT <see cref="RpcException"/> carrying <paramref name="badRequest"/>.</summary>
    public static RpcException Invalid(BadRequest badRequest)
    {
        var message = "invalid request: " + string.Join("; ", badRequest.FieldViolations.Select(v => $"{v.Field}: {v.Description}"));
        var status = new Google.Rpc.Status { Code = (int)Code.InvalidArgument, Message = message, Details = { Any.Pack(badRequest) } };
        return status.ToRpcException();
    }

    /// <summary>An INVALID_ARGUMENT <see cref="RpcException"/> for one field.</summary>
    public static RpcException Invalid(string field, string description)
    {
        var list = new ViolationList();
        list.Add(field, description);
        return Invalid(list.badRequest);
    }
}
