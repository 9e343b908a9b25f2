#!/usr/bin/env bash
# Builds libvarnative.so (the Winograd convolution transforms, winograd.cpp) once into TOOLDIR and copies it to OUTDIR.
# The C# side (Var.Model.Vqvae.Conv3x3) only calls it on x86-64 CPUs with AVX2 and FMA and falls back to libtorch's
# convolution where the library is missing. Idempotent; safe when several projects build at once.
# Usage: build-native.sh OUTDIR TOOLDIR
set -euo pipefail
out="${1:?usage: build-native.sh OUTDIR TOOLDIR}"
tools="${2:?usage: build-native.sh OUTDIR TOOLDIR}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
lib="$tools/libvarnative.so"
[ "$(uname -m)" = x86_64 ] || exit 0
mkdir -p "$tools"
if [ ! -f "$lib" ] || [ "$here/winograd.cpp" -nt "$lib" ]; then
  tmp="$(mktemp "$tools/libvarnative.XXXXXX")"
  g++ -O3 -std=c++17 -mavx2 -mfma -fPIC -shared -pthread -o "$tmp" "$here/winograd.cpp"
  mv -f "$tmp" "$lib"
fi
mkdir -p "$out"
cp -f "$lib" "$out/libvarnative.so.tmp$$" && mv -f "$out/libvarnative.so.tmp$$" "$out/libvarnative.so"
