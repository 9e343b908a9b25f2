#!/usr/bin/python3
"""Cross-check benchmark: OFFICIAL FoundationVision/VAR inference code on CPU.

Runs the unmodified models/ folder of a checkout of github FoundationVision/VAR (--var-root, or
$OFFICIAL_VAR_ROOT) with Debian's python3-torch 1.13 and OpenBLAS (apt-get install python3-torch
libopenblas0-pthread), float32, 2 threads, random (deterministically seeded) weights. It is a
cross-check of `var bench` on the same machine (pass this script's JSON to `var bench --official`);
the project neither ships nor needs the official code or Python.

Times, in torch.inference_mode():
  * var.autoregressive_infer_cfg(B, cfg=1.5, top_k=900, top_p=0.96, more_smooth=False)
    for each B in --batches (seconds per image; includes the VQVAE decode it does internally)
  * vae.fhat_to_img on a random (B, 32, 16, 16) f_hat for each B (decode only)
One warm-up call at B=1 is done first and excluded (skip with --no-warmup).

On an NVIDIA GPU (pip PyTorch with CUDA): --device cuda builds the models there with the official defaults
(flash_if_available/fused_if_available on: flash-attn or xformers when installed, else PyTorch's SDPA) and waits for
the GPU before each clock read; --dtype bfloat16 runs inside torch.autocast('cuda', bfloat16) as the official
demo_sample.ipynb does (it uses float16 and says "using bfloat16 can be faster"). TF32 stays at PyTorch's defaults.

Prints exactly one JSON object on stdout; progress/log text goes to stderr.

Run with:  /usr/bin/python3 bench/official/official_bench.py --var-root PATH/TO/VAR > official.json
"""
import argparse
import contextlib
import json
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
STUBS = os.path.join(HERE, 'stubs')       # huggingface_hub stub (PyTorchModelHubMixin)


def _var_root():
    # Read before argparse runs: the official package must be importable before torch's models are built.
    for i, a in enumerate(sys.argv):
        if a == '--var-root' and i + 1 < len(sys.argv):
            return sys.argv[i + 1]
        if a.startswith('--var-root='):
            return a.split('=', 1)[1]
    return os.environ.get('OFFICIAL_VAR_ROOT', '')


VAR_ROOT = _var_root()
if not VAR_ROOT or not os.path.isfile(os.path.join(VAR_ROOT, 'models', 'var.py')):
    sys.exit('official_bench.py: pass --var-root (or set OFFICIAL_VAR_ROOT) to a checkout of '
             'https://github.com/FoundationVision/VAR (the folder holding models/var.py)')

THREADS = int(os.environ.get('OFFICIAL_THREADS', '2'))  # same thread count as var bench --threads
SEED = 0
PATCH_NUMS = (1, 2, 3, 4, 5, 6, 8, 10, 13, 16)
VAE_KW = dict(V=4096, Cvae=32, ch=160, share_quant_resi=4)
CLASS_LABELS = (207, 360, 387, 974, 88, 979, 417, 279)  # cycled to fill B

# OpenBLAS (Debian libopenblas0-pthread) reads this at load time; torch.set_num_threads
# does not reach it because Debian's torch is built with BLAS_INFO=generic.
os.environ.setdefault('OPENBLAS_NUM_THREADS', str(THREADS))
os.environ.setdefault('OMP_NUM_THREADS', str(THREADS))

sys.path.insert(0, STUBS)
sys.path.insert(0, VAR_ROOT)   # models/ does `import dist` (repo-root dist.py)

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

# Shim: models/quant.py calls tdist.get_world_size() unconditionally in a
# training-only path (VectorQuantizer2.forward); harmless to shim for safety.
if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
    torch.distributed.get_world_size = lambda *a, **k: 1

# Classes whose default init build_vae_var() disables (it setattr's
# reset_parameters = no-op on these classes before building).  The VQVAE is
# otherwise only ever loaded from a checkpoint, so its convs would be left as
# uninitialised torch.empty memory (possibly NaN/denormal garbage that skews CPU
# timing).  We keep the original methods so we can give the VQVAE the modules'
# own default init afterwards.
_DISABLED_BY_BUILD = (nn.Linear, nn.LayerNorm, nn.BatchNorm2d, nn.SyncBatchNorm, nn.Conv1d,
                      nn.Conv2d, nn.ConvTranspose1d, nn.ConvTranspose2d)
_ORIG_RESET = {clz: getattr(clz, 'reset_parameters', None) for clz in _DISABLED_BY_BUILD}


def _restore_reset_parameters():
    for clz, fn in _ORIG_RESET.items():
        if fn is not None:
            setattr(clz, 'reset_parameters', fn)


def _default_init_vae(vae, seed):
    """Give the VQVAE modules whose init build_vae_var skipped their own default init."""
    _restore_reset_parameters()
    torch.manual_seed(seed)
    n = 0
    for m in vae.modules():
        # isinstance, not type(): e.g. models/quant.py Phi subclasses nn.Conv2d
        if isinstance(m, _DISABLED_BY_BUILD):
            m.reset_parameters()
            n += 1
    bad = [k for k, t in list(vae.named_parameters()) + list(vae.named_buffers()) if not torch.isfinite(t).all()]
    assert not bad, f'non-finite VQVAE tensors after init: {bad}'
    return n


def blas_info():
    # Debian's build says BLAS_INFO=generic, i.e. whatever libblas.so.3 the Debian
    # alternatives system resolves to (see blas_lib_loaded for the actual library).
    cfg = torch.__config__.show()
    blas = re.findall(r'\b((?:BLAS|LAPACK)_INFO=[^,\s]*)', cfg)
    return ', '.join(blas) if blas else 'unknown'


def blas_lib_loaded():
    libs = []
    try:
        with open('/proc/self/maps') as f:
            for line in f:
                p = line.split()[-1]
                if ('blas' in p.lower() or 'mkl' in p.lower()) and p.startswith('/') and p not in libs:
                    libs.append(p)
    except OSError:
        pass
    return libs


def cpu_model():
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return 'unknown'


def log(*a):
    print(*a, file=sys.stderr, flush=True)


DEVICE = 'cpu'   # set by main() from --device


def sync():
    if DEVICE != 'cpu':
        torch.cuda.synchronize()


def build(depth, decode_only):
    """Build (vae, var) with the official helper; var is None when decode_only."""
    from models import build_vae_var, VQVAE
    torch.manual_seed(SEED)
    with contextlib.redirect_stdout(sys.stderr):   # official code prints; keep stdout = JSON only
        if decode_only:
            # same VQVAE construction as build_vae_var (skip the VAR transformer entirely)
            for clz in _DISABLED_BY_BUILD:
                setattr(clz, 'reset_parameters', lambda self: None)
            vae = VQVAE(vocab_size=VAE_KW['V'], z_channels=VAE_KW['Cvae'], ch=VAE_KW['ch'], test_mode=True,
                        share_quant_resi=VAE_KW['share_quant_resi'], v_patch_nums=PATCH_NUMS).to(DEVICE)
            var = None
        else:
            on_gpu = DEVICE != 'cpu'   # the official defaults on a GPU; off on the CPU as before
            vae, var = build_vae_var(
                device=DEVICE, patch_nums=PATCH_NUMS, **VAE_KW,
                num_classes=1000, depth=depth, shared_aln=False, attn_l2_norm=True,
                flash_if_available=on_gpu, fused_if_available=on_gpu,
            )   # build_vae_var calls var.init_weights(init_adaln=0.5, init_adaln_gamma=1e-5, init_head=0.02, init_std=-1)
    n = _default_init_vae(vae, SEED + 1)
    log(f'[build] VQVAE: default-initialised {n} conv/linear/norm modules (seed {SEED + 1})')
    vae.eval()
    for p in vae.parameters():
        p.requires_grad_(False)
    if var is not None:
        var.eval()
        for p in var.parameters():
            p.requires_grad_(False)
        nparam = sum(p.numel() for p in var.parameters())
        log(f'[build] VAR depth={depth} params={nparam / 1e6:.1f}M  attn: '
            + var.blocks[0].attn.extra_repr())
    return vae, var


def labels(B):
    return torch.tensor([CLASS_LABELS[i % len(CLASS_LABELS)] for i in range(B)], dtype=torch.long, device=DEVICE)


def run_ar(var, B):
    return var.autoregressive_infer_cfg(B=B, label_B=labels(B), g_seed=SEED, cfg=1.5,
                                        top_k=900, top_p=0.96, more_smooth=False)


def make_fhat(B):
    g = torch.Generator().manual_seed(SEED + 2)
    return torch.randn(B, VAE_KW['Cvae'], PATCH_NUMS[-1], PATCH_NUMS[-1], generator=g).to(DEVICE)


def time_it(fn, reps):
    """Wall seconds and CPU seconds of this process (all its threads) per call: on a shared machine the CPU seconds
    are what the code costs, the wall seconds include waiting for a core."""
    ts, cs = [], []
    out = None
    for _ in range(reps):
        sync()
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        sync()
        ts.append(time.perf_counter() - t0)
        cs.append(time.process_time() - c0)
    return ts, cs, out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--var-root', help='checkout of FoundationVision/VAR (or $OFFICIAL_VAR_ROOT)')
    ap.add_argument('--depth', type=int, default=16)
    ap.add_argument('--batches', default='1,4', help='comma-separated batch sizes (default "1,4")')
    ap.add_argument('--reps', type=int, default=1, help='timed repetitions per batch size (mean reported)')
    ap.add_argument('--no-warmup', action='store_true', help='skip the untimed B=1 warm-up call')
    ap.add_argument('--decode-only', action='store_true', help='only time vae.fhat_to_img (no VAR built)')
    ap.add_argument('--device', default='cpu', help='cpu (default) or cuda[:N]')
    ap.add_argument('--dtype', default='float32', choices=('float32', 'bfloat16'),
                    help='bfloat16: the VAR runs under torch.autocast(bfloat16), as the official demo (GPU only)')
    args = ap.parse_args()
    global DEVICE
    DEVICE = args.device
    if DEVICE != 'cpu' and not torch.cuda.is_available():
        sys.exit(f'official_bench.py: --device {DEVICE} but torch.cuda.is_available() is False')
    if args.dtype == 'bfloat16' and DEVICE == 'cpu':
        sys.exit('official_bench.py: --dtype bfloat16 is for --device cuda (autocast as the official demo)')
    amp = (torch.autocast('cuda', enabled=True, dtype=torch.bfloat16, cache_enabled=True)
           if args.dtype == 'bfloat16' else contextlib.nullcontext())
    batches = [int(b) for b in args.batches.split(',') if b.strip()]

    torch.set_num_threads(THREADS)
    torch.set_grad_enabled(False)

    t0 = time.perf_counter()
    vae, var = build(args.depth, args.decode_only)
    log(f'[build] {time.perf_counter() - t0:.1f}s')

    res = {
        'torch': torch.__version__,
        'threads': torch.get_num_threads(),
        'blas': blas_info(),
        'device': DEVICE,
        'dtype': args.dtype,
    }
    if DEVICE != 'cpu':
        res['gpu'] = torch.cuda.get_device_name(DEVICE)
        res['cuda'] = torch.version.cuda
        res['tf32'] = {'matmul': torch.backends.cuda.matmul.allow_tf32, 'cudnn': torch.backends.cudnn.allow_tf32}
        if var is not None:
            res['attention'] = var.blocks[0].attn.extra_repr()
    detail = {}

    with torch.inference_mode(), amp:
        if not args.no_warmup:
            t0 = time.perf_counter()
            if var is not None:
                run_ar(var, 1)
            else:
                vae.fhat_to_img(make_fhat(1))
            log(f'[warmup] B=1 {time.perf_counter() - t0:.2f}s (excluded)')

        if var is not None:
            for B in batches:
                ts, cs, img = time_it(lambda: run_ar(var, B), args.reps)
                assert img.shape == (B, 3, 16 * PATCH_NUMS[-1], 16 * PATCH_NUMS[-1]), img.shape
                assert torch.isfinite(img).all()
                s = sum(ts) / len(ts) / B
                res[f'b{B}_s_per_image'] = round(s, 4)
                res[f'b{B}_cpu_s_per_image'] = round(sum(cs) / len(cs) / B, 4)
                detail[f'ar_b{B}_rep_s'] = [round(t, 4) for t in ts]
                log(f'[ar] B={B} reps={ts} -> {s:.3f} s/image')

        for B in batches:
            f_hat = make_fhat(B)
            ts, cs, img = time_it(lambda: vae.fhat_to_img(f_hat), args.reps)
            assert img.shape == (B, 3, 16 * PATCH_NUMS[-1], 16 * PATCH_NUMS[-1]), img.shape
            assert torch.isfinite(img).all()
            s = sum(ts) / len(ts)
            if B == 1:
                res['decode_b1_s'] = round(s, 4)
            else:
                res[f'decode_b{B}_s_per_image'] = round(s / B, 4)
            detail[f'decode_b{B}_rep_s'] = [round(t, 4) for t in ts]
            res[f'decode_b{B}_cpu_s_per_image'] = round(sum(cs) / len(cs) / B, 4)
            log(f'[decode] B={B} reps={ts} -> {s / B:.3f} s/image')

    if DEVICE != 'cpu':
        res['peak_gpu_memory_mb'] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    res['cpu'] = cpu_model()
    res['load_average'] = os.getloadavg()[0]
    # extra context (not part of the required keys)
    res['blas_lib_loaded'] = blas_lib_loaded()
    res['depth'] = None if args.decode_only else args.depth
    res['reps'] = args.reps
    res['warmup'] = not args.no_warmup
    res['decode_only'] = args.decode_only
    res['detail'] = detail
    print(json.dumps(res))


if __name__ == '__main__':
    main()
