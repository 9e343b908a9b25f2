using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace Var.Model.Vqvae;

/// <summary>
/// The VQVAE's 3×3, stride-1, padding-1 convolutions with an inference fast path: Winograd F(4×4, 3×3) (Lavin &amp; Gray
/// 2016), fused into one native kernel (build/native/winograd.cpp, built into libvarnative.so) with an AVX2 and an
/// AVX-512 path, the best one this CPU runs picked at run time (<see cref="Kernel"/>). It needs 4× fewer
/// multiplications than direct convolution, which is what the 256² decoder spends its time on (measured 2–2.4× faster
/// than libtorch's oneDNN convolution per layer). Used only on the CPU in float32 without autograd, for layers with
/// <see cref="MinChannels"/>–<see cref="MaxChannelsFor"/> input and output channels and at least <see cref="MinPixels"/>
/// output pixels; everything else (and every CPU without AVX2 and FMA, or a build without the library) goes to
/// libtorch's convolution. The nearest-2× upsampling before a convolution and a residual addition after it are folded in.
/// The result differs from direct convolution by rounding only (below 2e-5 of the output's scale, tested). Set
/// <c>VAR_WINOGRAD=0</c> to turn it off, <c>VAR_WINOGRAD_KERNEL=avx2</c> to keep the AVX2 path on an AVX-512 CPU.
/// </summary>
public static partial class Conv3x3
{
    private const string Library = "libvarnative";

    /// <summary>Smallest input and output channel count the fast path takes (narrow layers are memory-bound anyway).</summary>
    public const int MinChannels = 32;

    /// <summary>Smallest output plane (H·W) the fast path takes.</summary>
    public const int MinPixels = 32 * 32;

    /// <summary>
    /// Largest input and output channel count the AVX2 path takes: it streams all of U (36·K·C floats) once per block
    /// of 16 tiles for every 6 output channels, which stops paying beyond a few MB (measured: 640 channels at 32² is 5×
    /// slower than libtorch).
    /// </summary>
    public const int MaxChannels = 320;

    /// <summary>
    /// Largest channel count of the AVX-512 path: it runs point by point over blocks of 32 tiles (U streamed once per
    /// block, V and M of the block kept), which covers the official VQVAE's 640-channel layers.
    /// </summary>
    public const int MaxChannelsAvx512 = 640;

    private static readonly Lazy<WinogradKernel?> best = new(Probe);
    private static readonly long[] calls = new long[3];

    /// <summary>Whether the fast path is enabled (default: on where the CPU and the native library allow it).</summary>
    public static bool Enabled { get; set; } = Environment.GetEnvironmentVariable("VAR_WINOGRAD") != "0";

    /// <summary>True where the native transforms can run here.</summary>
    public static bool Available => best.Value is not null;

    /// <summary>The widest kernel this CPU runs (null where none does).</summary>
    public static WinogradKernel? BestKernel => best.Value;

    /// <summary>
    /// The kernel the fast path uses: the best one here, or AVX2 where <c>VAR_WINOGRAD_KERNEL=avx2</c> (set it to
    /// compare or test the AVX2 path on an AVX-512 CPU). Setting one the CPU lacks throws.
    /// </summary>
    public static WinogradKernel Kernel
    {
        get => kernel ??= Environment.GetEnvironmentVariable("VAR_WINOGRAD_KERNEL")?.ToLowerInvariant() == "avx2"
            ? WinogradKernel.Avx2 : best.Value ?? WinogradKernel.Avx2;
        set => kernel = Supports(value) ? value : throw new PlatformNotSupportedException($"this CPU has no {value} Winograd kernel");
    }

    private static WinogradKernel? kernel;

    /// <summary>Whether this CPU (and the native library) runs <paramref name="k"/>.</summary>
    public static bool Supports(WinogradKernel k) => best.Value is { } b && k <= b;

    /// <summary>Largest channel count the fast path takes with <paramref name="k"/>.</summary>
    public static int MaxChannelsFor(WinogradKernel k) => k == WinogradKernel.Avx512 ? MaxChannelsAvx512 : MaxChannels;

    /// <summary>
    /// How many 3×3 convolutions <see cref="Apply"/> ran with libtorch, the AVX2 kernel and the AVX-512 kernel since the
    /// last <see cref="ResetCounts"/> (for the bench's "which kernels ran").
    /// </summary>
    public static (long Torch, long Avx2, long Avx512) Counts =>
        (Interlocked.Read(ref calls[0]), Interlocked.Read(ref calls[1]), Interlocked.Read(ref calls[2]));

    /// <summary>Zeroes <see cref="Counts"/>.</summary>
    public static void ResetCounts()
    {
        for (int i = 0; i < calls.Length; i++) Interlocked.Exchange(ref calls[i], 0);
    }

    /// <summary>
    /// <paramref name="conv"/>(x), or <paramref name="conv"/>(nearest-2×-upsampled x) when <paramref name="upsample2x"/>,
    /// plus <paramref name="residual"/> when given (shape of the output). <paramref name="conv"/> must be a 3×3, stride-1,
    /// padding-1, ungrouped convolution, as every caller in the VQVAE builds it.
    /// </summary>
    public static Tensor Apply(Conv2d conv, Tensor x, bool upsample2x = false, Tensor? residual = null)
    {
        var weight = conv.weight!;
        long outH = upsample2x ? 2 * x.shape[2] : x.shape[2], outW = upsample2x ? 2 * x.shape[3] : x.shape[3];
        if (UsesFastPath(weight, x, outH * outW))
        {
            Interlocked.Increment(ref calls[(int)Kernel]);
            return Winograd(x, weight, conv.bias, upsample2x, residual);
        }
        Interlocked.Increment(ref calls[0]);
        Tensor y;
        if (upsample2x)
        {
            using var up = nn.functional.interpolate(x, scale_factor: [2.0, 2.0], mode: InterpolationMode.Nearest);
            y = conv.forward(up);
        }
        else
        {
            y = conv.forward(x);
        }
        return residual is null ? y : y.add_(residual);
    }

    private static bool UsesFastPath(Tensor weight, Tensor x, long outPixels) =>
        Enabled && Available && !is_grad_enabled()
        && x.device_type == DeviceType.CPU && x.dtype == ScalarType.Float32 && weight.dtype == ScalarType.Float32
        && x.dim() == 4 && weight.shape[2] == 3 && weight.shape[3] == 3
        && weight.shape[0] >= MinChannels && weight.shape[1] >= MinChannels
        && weight.shape[0] <= MaxChannelsFor(Kernel) && weight.shape[1] <= MaxChannelsFor(Kernel) && outPixels >= MinPixels;

    /// <summary>
    /// The Winograd convolution (always, whatever <see cref="Enabled"/> says; for tests and benchmarks): x (N, C, H, W)
    /// float32 on the CPU, weight (K, C, 3, 3), optional bias (K) and residual (N, K, H', W'), with
    /// <paramref name="kernel"/> (default <see cref="Kernel"/>).
    /// </summary>
    public static Tensor Winograd(Tensor x, Tensor weight, Tensor? bias, bool upsample2x = false, Tensor? residual = null,
        WinogradKernel? kernel = null)
    {
        if (!Available) throw new PlatformNotSupportedException("the Winograd convolution needs x86-64 with AVX2 and FMA and libvarnative.so");
        var use = kernel ?? Kernel;
        if (!Supports(use)) throw new PlatformNotSupportedException($"this CPU has no {use} Winograd kernel");
        long n = x.shape[0], c = x.shape[1], hs = x.shape[2], ws = x.shape[3], k = weight.shape[0];
        if (weight.shape[1] != c || weight.shape[2] != 3 || weight.shape[3] != 3 || weight.dtype != ScalarType.Float32)
            throw new ArgumentException($"weight [{string.Join(", ", weight.shape)}] {weight.dtype} is not float32 [K, {c}, 3, 3]");
        if (x.dtype != ScalarType.Float32 || x.device_type != DeviceType.CPU) throw new ArgumentException("x must be float32 on the CPU");
        long h = upsample2x ? 2 * hs : hs, w = upsample2x ? 2 * ws : ws;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var xc = x.contiguous();
        var wc = weight.contiguous();
        var b = bias?.contiguous();
        var res = residual?.contiguous();
        if (res is not null && !res.shape.SequenceEqual(new[] { n, k, h, w }))
            throw new ArgumentException($"residual shape [{string.Join(", ", res.shape)}] is not [{n}, {k}, {h}, {w}]");
        var y = empty([n, k, h, w], ScalarType.Float32, x.device);
        int ran = Native.Conv(Data(xc), n, c, hs, ws, upsample2x ? 1 : 0, Data(wc), k,
            b is null ? IntPtr.Zero : Data(b), res is null ? IntPtr.Zero : Data(res), Data(y), Math.Max(1, get_num_threads()), (int)use);
        if (ran != (int)use) throw new InvalidOperationException($"libvarnative ran kernel {ran}, not {use}");
        return y.MoveToOuterDisposeScope();
    }

    private static IntPtr Data(Tensor t) => Native.TensorData(t.Handle);

    private static WinogradKernel? Probe()
    {
        if (!OperatingSystem.IsLinux() || !Avx2.IsSupported || !Fma.IsSupported) return null;
        try
        {
            int isa = Native.Isa();
            return isa >= 2 ? WinogradKernel.Avx512 : isa == 1 ? WinogradKernel.Avx2 : null;
        }
        catch (DllNotFoundException)
        {
            return null;
        }
        catch (EntryPointNotFoundException)
        {
            return null;
        }
    }

    private static partial class Native
    {
        [LibraryImport(Library, EntryPoint = "var_wino_isa")]
        public static partial int Isa();

        [LibraryImport(Library, EntryPoint = "var_wino_conv_isa")]
        public static partial int Conv(IntPtr x, long n, long c, long hs, long ws, int up, IntPtr weight, long k,
            IntPtr bias, IntPtr residual, IntPtr y, int threads, int isa);

        // libLibTorchSharp's accessor of a tensor's first element (what TorchSharp's own data<T>() uses).
        [LibraryImport("LibTorchSharp", EntryPoint = "THSTensor_data")]
        public static partial IntPtr TensorData(IntPtr handle);
    }
}

/// <summary>The Winograd kernels of libvarnative (values as its <c>var_wino_isa</c>).</summary>
public enum WinogradKernel
{
    /// <summary>AVX2 + FMA, 8 lanes.</summary>
    Avx2 = 1,

    /// <summary>AVX-512 (F, DQ, BW, VL), 16 lanes.</summary>
    Avx512 = 2,
}
