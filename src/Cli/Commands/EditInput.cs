using System.Globalization;
using Var.Decoding.Editing;
using Var.Decoding.Imaging;
using Var.Model;

namespace Var.Cli.Commands;

/// <summary>
/// An edit as the user gave it (image file, mask file or box, mode, class, feathering), checked and loaded for a
/// model: the input's pixels, the region and the edit target. Shared by <c>var edit</c> and edit jobs of <c>var batch</c>.
/// </summary>
internal sealed record EditInput(EditKind Kind, string ModeName, byte[] Rgb, float[] Region, EditTarget Target, int ClassId)
{
    /// <summary>The edit kind of a mode name; throws <see cref="ArgumentException"/> for an unknown one.</summary>
    public static EditKind ParseMode(string? mode) => (mode ?? "inpaint").Trim().ToLowerInvariant() switch
    {
        "inpaint" => EditKind.Inpaint,
        "outpaint" => EditKind.Outpaint,
        "edit" or "class-edit" => EditKind.ClassEdit,
        var other => throw new ArgumentException($"unknown mode '{other}' (inpaint, outpaint or edit)"),
    };

    /// <summary>The mode's name in file names and manifests.</summary>
    public static string NameOf(EditKind kind) => kind switch { EditKind.Inpaint => "inpaint", EditKind.Outpaint => "outpaint", _ => "edit" };

    /// <summary>
    /// Checks what needs no model (region given once, files exist, class for a class edit, box syntax); throws
    /// <see cref="ArgumentException"/> or <see cref="FileNotFoundException"/> naming the bad input.
    /// </summary>
    public static EditKind Check(string imagePath, string? maskPath, string? box, string? mode, string? classText)
    {
        var kind = ParseMode(mode);
        if (maskPath is not null && box is not null) throw new ArgumentException("give a mask or a box, not both");
        if (kind != EditKind.Outpaint && maskPath is null && box is null) throw new ArgumentException("a mask or a box names the region to regenerate");
        if (kind == EditKind.ClassEdit && classText is null) throw new ArgumentException("mode edit needs a class");
        if (!File.Exists(imagePath)) throw new FileNotFoundException($"image {imagePath}: no such file", imagePath);
        if (maskPath is not null && !File.Exists(maskPath)) throw new FileNotFoundException($"mask {maskPath}: no such file", maskPath);
        if (box is not null) ParseBox(box);
        return kind;
    }

    /// <summary>Loads the edit for <paramref name="model"/> (one encode of the input); see <see cref="Check"/> for the errors.</summary>
    public static EditInput Load(ModelBundle model, string imagePath, string? maskPath, string? box, string? mode, string? classText, double outpaintScale, int feather)
    {
        var kind = Check(imagePath, maskPath, box, mode, classText);
        int size = model.ImageSize;
        var rgb = ImageCodec.LoadRgb(File.ReadAllBytes(imagePath), size, imagePath);
        float[] region;
        if (maskPath is not null) region = ImageCodec.LoadMask(File.ReadAllBytes(maskPath), size, maskPath);
        else if (box is not null)
        {
            var v = ParseBox(box);
            region = EditRegion.Box(size, v[0], v[1], v[2], v[3]);
        }
        else (rgb, region) = EditRegion.Outpaint(rgb, size, outpaintScale);
        int classId = classText is not null ? model.Classes.Resolve(classText) : model.NumClasses;
        if (feather < 0 || feather > size) throw new ArgumentException($"feather must be in 0..{size}");
        var target = EditTarget.FromImage(model, rgb, region).WithFeather(rgb, region, feather);
        return new EditInput(kind, NameOf(kind), rgb, region, target, classId);
    }

    /// <summary>x0,y0,x1,y1 in [0,1]; throws <see cref="ArgumentException"/> otherwise.</summary>
    public static double[] ParseBox(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length != 4 || !parts.All(p => double.TryParse(p, NumberStyles.Float, CultureInfo.InvariantCulture, out _)))
            throw new ArgumentException($"box '{text}' is not x0,y0,x1,y1");
        return parts.Select(p => double.Parse(p, CultureInfo.InvariantCulture)).ToArray();
    }
}
