using System.CommandLine;
using Var.Cli.Commands;
using Var.Decoding.Imaging;

namespace Var.Cli.Tests;

/// <summary>
/// <c>var edit</c>'s bad inputs on the command line: each prints one line naming what is wrong, exits with code 2 and
/// writes nothing.
/// </summary>
public sealed class EditCommandTests : IDisposable
{
    private readonly BatchFolder folder = new();

    private static string Repo()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Var.sln"))) dir = dir.Parent;
        return dir!.FullName;
    }

    private static string Input => Path.Combine(Repo(), "docs", "edit-input.png");

    // Runs `var edit --model fmnist … --out OUT` in-process; returns the exit code and what went to stderr.
    private (int Code, string Error) Edit(params string[] args)
    {
        var root = new RootCommand { EditCommand.Create() };
        var error = new StringWriter();
        var saved = Console.Error;
        Console.SetError(error);
        try
        {
            int code = root.Parse(["edit", "--model", "fmnist", "--out", folder.PathOf("out"), .. args]).Invoke();
            return (code, error.ToString());
        }
        finally
        {
            Console.SetError(saved);
        }
    }

    private string Write(string name, byte[] bytes)
    {
        var path = folder.PathOf(name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    // A PNG whose header claims width × height, with no pixel data: enough for Image.Identify.
    private static byte[] PngHeader(int width, int height)
    {
        var ihdr = new byte[13];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8;   // bit depth
        ihdr[9] = 2;   // colour type RGB
        using var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        Chunk(png, "IHDR", ihdr);
        Chunk(png, "IEND", []);
        return png.ToArray();
    }

    private static void Chunk(Stream png, string type, byte[] data)
    {
        var length = new byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
        png.Write(length);
        var body = System.Text.Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        png.Write(body);
        var crc = new byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32(body));
        png.Write(crc);
    }

    private static uint Crc32(byte[] bytes)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in bytes)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
        }
        return ~crc;
    }

    public static TheoryData<string, string[], string> BadArguments => new()
    {
        { "box with x0 ≥ x1", ["--box", "0.6,0.1,0.4,0.9"], "0 ≤ x0 < x1 ≤ 1" },
        { "box outside [0,1]", ["--box", "0.1,0.1,1.2,0.9"], "0 ≤ x0 < x1 ≤ 1" },
        { "box that is not four numbers", ["--box", "0.1,0.1,0.9"], "is not x0,y0,x1,y1" },
        { "unknown mode", ["--box", "0.1,0.1,0.9,0.9", "--mode", "paint"], "unknown mode 'paint'" },
        { "class edit without a class", ["--box", "0.1,0.1,0.9,0.9", "--mode", "edit"], "mode edit needs a class" },
        { "unknown class", ["--box", "0.1,0.1,0.9,0.9", "--mode", "edit", "--class", "hat"], "hat" },
        { "mask and box together", ["--box", "0.1,0.1,0.9,0.9", "--mask", "m.png"], "not both" },
        { "no region", [], "a mask or a box" },
        { "missing mask file", ["--mask", "/nonexistent/mask.png"], "no such file" },
        { "negative feather", ["--box", "0.1,0.1,0.9,0.9", "--feather", "-1"], "feather" },
    };

    [Theory]
    [MemberData(nameof(BadArguments))]
    public void BadArgumentsExitWithCode2AndWriteNothing(string what, string[] args, string message)
    {
        var (code, error) = Edit(["--image", Input, .. args]);
        Assert.True(code == 2, $"{what}: exit code {code}, stderr: {error}");
        Assert.Contains(message, error);
        Assert.Single(error.Trim().Split('\n'));
        Assert.False(Directory.Exists(folder.PathOf("out")), $"{what}: the output folder was created");
    }

    [Fact]
    public void BadImagesAndMasksExitWithCode2AndWriteNothing()
    {
        var real = File.ReadAllBytes(Input);
        var cases = new (string What, string Image, string? Mask, string Message)[]
        {
            ("bytes that are no image", Write("text.png", "not an image at all"u8.ToArray()), null, "not a PNG or JPEG"),
            ("a truncated PNG", Write("cut.png", real[..(real.Length / 2)]), null, "not a readable PNG or JPEG"),
            ("an image over the pixel limit", Write("bomb.png", PngHeader(5000, 5000)), null, "exceeds the limit"),
            ("a mask over the pixel limit", Input, Write("bomb-mask.png", PngHeader(1, 20_000_000)), "exceeds the limit"),
            ("a mask with no white pixel", Input, Write("black.png", ImageCodec.EncodePng(new byte[32 * 32 * 3], 32, 32)), "regenerates no token"),
        };
        foreach (var (what, image, mask, message) in cases)
        {
            var (code, error) = mask is null ? Edit("--image", image, "--box", "0.1,0.1,0.9,0.9") : Edit("--image", image, "--mask", mask);
            Assert.True(code == 2, $"{what}: exit code {code}, stderr: {error}");
            Assert.Contains(message, error);
            Assert.False(Directory.Exists(folder.PathOf("out")), $"{what}: the output folder was created");
        }
    }

    [Fact]
    public void AGoodEditWritesItsImagesAndManifest()
    {
        var (code, error) = Edit("--image", Input, "--box", "0.25,0.25,0.75,0.75", "--mode", "edit", "--class", "bag", "--count", "2", "--seed", "7");
        Assert.True(code == 0, error);
        var files = Directory.GetFiles(folder.PathOf("out")).Select(Path.GetFileName).Order().ToList();
        Assert.Equal(3, files.Count);
        Assert.Contains("manifest.jsonl", files);
        Assert.Equal(2, File.ReadAllLines(folder.PathOf("out/manifest.jsonl")).Length);
    }

    /// <inheritdoc />
    public void Dispose() => folder.Dispose();
}
