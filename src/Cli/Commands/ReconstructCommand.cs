using System.CommandLine;
using Var.Decoding.Imaging;
using Var.Model.Checkpoints;
using Var.Model.Vqvae;

namespace Var.Cli.Commands;

/// <summary><c>var reconstruct</c>: VQVAE round trip of one image (encode → multi-scale tokens → decode).</summary>
internal static class ReconstructCommand
{
    public static Command Create()
    {
        var models = new ModelArguments();
        var image = new Option<string>("--image") { Description = "Input image (PNG/JPEG/…). An image of the model's size is used as is; otherwise the shorter side is resized to it (bicubic) and the centre cropped.", Required = true };
        var output = new Option<string>("--out") { Description = "Output PNG.", Required = true };
        var cmd = new Command("reconstruct", "Round-trip an image through the multi-scale VQVAE and write the reconstruction; prints its PSNR against the (resized) input.");
        models.AddTo(cmd);
        cmd.Options.Add(image);
        cmd.Options.Add(output);
        cmd.SetAction(pr => CommandRunner.Run(() =>
        {
            var source = models.Source(pr);
            ModelArguments.ApplyThreads(pr.GetValue(models.Threads));
            using var vae = source.VaeFile is not null
                ? ModelLoader.LoadVqvaeFile(source.VaeFile, source.PatchNums)
                : LoadFolderVae(source.Model ?? ModelLoader.DefaultModel);
            var device = ModelLoader.ParseDevice(source.Device);
            vae.to(device);
            int size = vae.Config.ImageSize;
            var rgb = ImageCodec.LoadRgb(pr.GetValue(image)!, size);
            using var scope = NewDisposeScope();
            using var inference = inference_mode();
            var recon = ImageCodec.FromTensor(vae.Reconstruct(ImageCodec.ToTensor([rgb], size, device)))[0];
            var outPath = pr.GetValue(output)!;
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(outPath))!);
            ImageCodec.SavePng(outPath, recon, size, size);
            Console.WriteLine($"{outPath}: {size}x{size}, PSNR {ImageCodec.Psnr(rgb, recon):F2} dB, scales [{string.Join(",", vae.Config.PatchNums)}]");
            return 0;
        }));
        return cmd;
    }

    private static MultiScaleVqvae LoadFolderVae(string model)
    {
        var folder = ModelLoader.ResolveModelFolder(model);
        return ModelLoader.LoadVqvae(folder, ModelManifest.Read(Path.Combine(folder, ModelManifest.FileName)));
    }
}
