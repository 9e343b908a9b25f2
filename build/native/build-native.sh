#!/usr/bin/env bash
# Builds libvarnative.so (the Winograd convolution, winograd.cpp with its AVX-512 path winograd_avx512.cpp) once into
# TOOLDIR and copies it to OUTDIR, and beside it libvarpeak.so (peakalloc.cpp: the benches' exact C-heap peak counter,
# active only where a bench is run with it in LD_PRELOAD). The library picks its kernel at run time (cpuid): AVX-512 code runs only where the CPU
# has it, so one build serves AVX2-only and AVX-512 machines alike. The C# side (Var.Model.Vqvae.Conv3x3) only calls
# it on x86-64 CPUs with AVX2 and FMA and falls back to libtorch's convolution where the library is missing. Idempotent; safe when several projects build at once.
# Usage: build-native.sh OUTDIR TOOLDIR
set -euo pipefail
out="${1:?usage: build-native.sh OUTDIR TOOLDIR}"
tools="${2:?usage: build-native.sh OUTDIR TOOLDIR}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
lib="$tools/libvarnative.so"
[ "$(uname -m)" = x86_64 ] || exit 0
mkdir -p "$tools"
stale=0
for src in winograd.cpp winograd_avx512.cpp winograd_common.h build-native.sh; do
  [ -f "$lib" ] && [ ! "$here/$src" -nt "$lib" ] || stale=1
done
if [ "$stale" = 1 ]; then
  tmp="$(mktemp -d "$tools/libvarnative.XXXXXX")"
  g++ -O3 -std=c++17 -mavx2 -mfma -fPIC -c -o "$tmp/avx2.o" "$here/winograd.cpp"
  g++ -O3 -std=c++17 -mavx512f -mavx512dq -mavx512bw -mavx512vl -mfma -fPIC -c -o "$tmp/avx512.o" "$here/winograd_avx512.cpp"
  g++ -shared -pthread -o "$tmp/lib.so" "$tmp/avx2.o" "$tmp/avx512.o"
  mv -f "$tmp/lib.so" "$lib"
  rm -rf "$tmp"
fi
peak="$tools/libvarpeak.so"
if [ ! -f "$peak" ] || [ "$here/peakalloc.cpp" -nt "$peak" ] || [ "$here/build-native.sh" -nt "$peak" ]; then
  tmp="$(mktemp -d "$tools/libvarpeak.XXXXXX")"
  g++ -O2 -std=c++17 -fPIC -shared -fvisibility=hidden -o "$tmp/lib.so" "$here/peakalloc.cpp"
  mv -f "$tmp/lib.so" "$peak"
  rm -rf "$tmp"
fi
mkdir -p "$out"
cp -f "$lib" "$out/libvarnative.so.tmp$$" && mv -f "$out/libvarnative.so.tmp$$" "$out/libvarnative.so"
cp -f "$peak" "$out/libvarpeak.so.tmp$$" && mv -f "$out/libvarpeak.so.tmp$$" "$out/libvarpeak.so"
