#!/usr/bin/env bash
# Makes TorchSharp 0.107.0's libLibTorchSharp.so loadable on a libstdc++ older than GCC 13 (toolchain.md §1.1):
# weakens its GLIBCXX_3.4.32 version need and builds libstdcxx_compat.so next to it. Idempotent.
# Does nothing where the system libstdc++ already provides GLIBCXX_3.4.32.
# Usage: fix-libtorchsharp.sh OUTDIR TOOLDIR
set -euo pipefail
out="${1:?usage: fix-libtorchsharp.sh OUTDIR TOOLDIR}"
tools="${2:?usage: fix-libtorchsharp.sh OUTDIR TOOLDIR}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
need="GLIBCXX_3.4.32"

syslib="$(/sbin/ldconfig -p 2>/dev/null | awk '/libstdc\+\+\.so\.6 .*x86-64/ {print $NF; exit}')"
[ -n "$syslib" ] || syslib=/lib/x86_64-linux-gnu/libstdc++.so.6
if [ -f "$syslib" ] && grep -qa "$need" "$syslib"; then
  exit 0  # the system library is new enough
fi

mkdir -p "$tools"
if [ ! -x "$tools/weaken_verneed" ] || [ "$here/weaken_verneed.cpp" -nt "$tools/weaken_verneed" ]; then
  g++ -O2 -std=c++17 -o "$tools/weaken_verneed" "$here/weaken_verneed.cpp"
fi
if [ ! -f "$tools/libstdcxx_compat.so" ] || [ "$here/stdcxx_compat.cpp" -nt "$tools/libstdcxx_compat.so" ]; then
  g++ -O2 -shared -fPIC -o "$tools/libstdcxx_compat.so" "$here/stdcxx_compat.cpp"
fi

found=0
for lib in "$out"/libLibTorchSharp.so "$out"/runtimes/linux-x64/native/libLibTorchSharp.so; do
  [ -f "$lib" ] || continue  # class libraries do not copy the natives; only apps and test hosts do
  found=1
  "$tools/weaken_verneed" "$lib" "$need" >/dev/null
  cp -f "$tools/libstdcxx_compat.so" "$(dirname "$lib")/libstdcxx_compat.so"
done
[ "$found" = 1 ] && cp -f "$tools/libstdcxx_compat.so" "$out/libstdcxx_compat.so"
exit 0
