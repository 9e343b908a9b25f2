using Var.Model.Vqvae;

namespace Var.Model.Tests;

/// <summary>Runs alone: it sets the process-wide kernel choice and reads the process-wide call counts.</summary>
[CollectionDefinition(nameof(Conv3x3Globals), DisableParallelization = true)]
public sealed class Conv3x3Globals;

[Collection(nameof(Conv3x3Globals))]
public class Conv3x3Tests
{
    // Shapes that hit every edge: batch > 1, widths that are not multiples of 4 or of 8 tiles, upsampling, C ≠ K,
    // K not a multiple of 6 or 8, block counts that leave a partial 32-tile block, and a 640-channel layer as the
    // official VQVAE's widest (AVX-512 only; the AVX2 path is not used beyond 320). Each on both kernels.
    private static readonly (int N, int C, int K, int H, int W, bool Up)[] Shapes =
    [
        (1, 32, 32, 8, 8, false), (2, 40, 48, 13, 21, false), (1, 64, 32, 9, 37, true), (3, 96, 96, 32, 32, false),
        (1, 33, 35, 70, 5, true), (2, 32, 40, 64, 136, false), (5, 48, 56, 8, 8, true), (1, 640, 640, 16, 16, true),
        (2, 640, 320, 32, 32, false),
    ];

    public static TheoryData<int, int, int, int, int, bool, WinogradKernel> Cases()
    {
        var data = new TheoryData<int, int, int, int, int, bool, WinogradKernel>();
        foreach (var kernel in new[] { WinogradKernel.Avx2, WinogradKernel.Avx512 })
            foreach (var (n, c, k, h, w, up) in Shapes)
                if (kernel == WinogradKernel.Avx512 || (c <= Conv3x3.MaxChannels && k <= Conv3x3.MaxChannels))
                    data.Add(n, c, k, h, w, up, kernel);
        return data;
    }

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public void WinogradMatchesDirectConvolution(int n, int c, int k, int h, int w, bool upsample, WinogradKernel kernel)
    {
        Skip.IfNot(Conv3x3.Supports(kernel), $"needs x86-64 with {kernel} and libvarnative.so");
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        manual_seed(3);
        var x = randn(n, c, h, w);
        var weight = randn(k, c, 3, 3).mul_(1.0 / Math.Sqrt(9 * c));
        var bias = randn(k);
        var input = upsample ? nn.functional.interpolate(x, scale_factor: [2.0, 2.0], mode: InterpolationMode.Nearest) : x;
        var residual = randn(n, k, input.shape[2], input.shape[3]);
        var expected = nn.functional.conv2d(input, weight, bias, padding: [1, 1]).add_(residual);

        var y = Conv3x3.Winograd(x, weight, bias, upsample, residual, kernel);

        Assert.Equal(expected.shape, y.shape);
        double err = (y - expected).abs().max().item<float>(), scale = expected.abs().max().item<float>();
        Assert.True(err < 2e-5 * scale, $"max error {err:E2} for max |y| {scale:F2}");
    }

    [SkippableFact]
    public void ApplyTakesTheFastPathOnlyWithoutAutograd()
    {
        Skip.IfNot(Conv3x3.Available, "needs x86-64 with AVX2/FMA and libvarnative.so");
        using var scope = NewDisposeScope();
        manual_seed(4);
        using var conv = nn.Conv2d(32, 32, 3, padding: 1);
        var x = randn(1, 32, 32, 32);
        Tensor fast;
        using (no_grad()) fast = Conv3x3.Apply(conv, x);
        var slow = Conv3x3.Apply(conv, x);   // autograd on: libtorch's convolution, differentiable
        slow.sum().backward();
        Assert.NotNull(conv.weight!.grad);
        Assert.True((fast - slow.detach()).abs().max().item<float>() < 1e-4);
    }

    // The AVX-512 kernel takes the official VQVAE's 640-channel layers; the AVX2 kernel leaves them to libtorch.
    [SkippableFact]
    public void ApplyPicksTheKernelAndItsChannelRange()
    {
        Skip.IfNot(Conv3x3.Supports(WinogradKernel.Avx512), "needs an AVX-512 CPU and libvarnative.so");
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        manual_seed(5);
        using var conv = nn.Conv2d(640, 640, 3, padding: 1);
        var x = randn(1, 640, 16, 16);
        var expected = conv.forward(nn.functional.interpolate(x, scale_factor: [2.0, 2.0], mode: InterpolationMode.Nearest));
        var saved = Conv3x3.Kernel;
        try
        {
            foreach (var (kernel, torchCalls, avx512Calls) in new[] { (WinogradKernel.Avx512, 0L, 1L), (WinogradKernel.Avx2, 1L, 0L) })
            {
                Conv3x3.Kernel = kernel;
                Conv3x3.ResetCounts();
                var y = Conv3x3.Apply(conv, x, upsample2x: true);
                var counts = Conv3x3.Counts;
                Assert.Equal((torchCalls, 0L, avx512Calls), counts);
                // Without a residual the output is small next to its 5760-term sums (Winograd's rounding grows with them).
                double err = (y - expected).abs().max().item<float>(), scale = expected.abs().max().item<float>();
                Assert.True(err < 5e-5 * scale, $"{kernel}: max error {err:E2} for max |y| {scale:F2}");
            }
        }
        finally
        {
            Conv3x3.Kernel = saved;
        }
    }
}
