#!/usr/bin/env bash
# Prepares everything a GPU run (bench/gpu/run.sh) needs and the GPU machine lacks, under bench/gpu/.work (git-ignored):
#   native/                 TorchSharp's src/Native at the 0.107.0 release commit (built there against pip libtorch)
#   app.tar.xz              `var` published framework-dependent for linux-x64, without the CPU libtorch
#   dotnet-runtime.tar.xz   dotnet host + host/fxr + shared/Microsoft.NETCore.App/10.x (the app's only framework)
#   official-var/           models/ + dist.py of the official FoundationVision/VAR code (timed next to var)
#   fixtures/var-parity/    the parity fixture (../shared/fixtures/var-parity)
# Runs on this (CPU) machine. Usage: bench/gpu/prepare.sh   (env: TORCHSHARP_GIT, VAR_GIT, FIXTURES, DOTNET_DIR)
set -euo pipefail
cd "$(dirname "$0")/../.."
W=bench/gpu/.work
COMMIT=c20b6a1cc574d690707638a488d2583f3b8b983f   # TorchSharp 0.107.0 (no tag; toolchain.md §9)
TORCHSHARP_GIT=${TORCHSHARP_GIT:-/work/.mirror/dotnet+TorchSharp/repo}
VAR_GIT=${VAR_GIT:-/work/.mirror/FoundationVision+VAR/repo}
FIXTURES=${FIXTURES:-../shared/fixtures}
DOTNET_DIR=${DOTNET_DIR:-$(dirname "$(readlink -f "$(command -v dotnet)")")}
log() { echo "[prepare] $*" >&2; }

rm -rf "$W/native" "$W/app" "$W/official-var" "$W/fixtures" "$W/app.tar.xz" "$W/dotnet-runtime.tar.xz"
mkdir -p "$W"

# 1. TorchSharp native sources of exactly the release commit.
[ "$(git --git-dir="$TORCHSHARP_GIT" cat-file -t "$COMMIT" 2>/dev/null)" = commit ] \
  || { echo "error: $TORCHSHARP_GIT lacks commit $COMMIT (fetch github:dotnet/TorchSharp)" >&2; exit 2; }
mkdir -p "$W/native"
git --git-dir="$TORCHSHARP_GIT" archive "$COMMIT" src/Native | tar -x -C "$W/native"
echo "$COMMIT" > "$W/native/COMMIT"
log "native sources: $(find "$W/native/src/Native" -type f | wc -l) files, $(du -sk "$W/native" | cut -f1) KB"

# 2. The official code timed next to var (its models/ and the dist.py they import); not part of the project.
[ -d "$VAR_GIT" ] || { echo "error: $VAR_GIT missing (fetch github:FoundationVision/VAR)" >&2; exit 2; }
mkdir -p "$W/official-var"
git --git-dir="$VAR_GIT" archive HEAD models dist.py | tar -x -C "$W/official-var"
git --git-dir="$VAR_GIT" rev-parse HEAD > "$W/official-var/COMMIT"

# 3. The parity fixture.
[ -f "$FIXTURES/var-parity/expected.safetensors" ] || { echo "error: $FIXTURES/var-parity missing" >&2; exit 2; }
mkdir -p "$W/fixtures"
cp -r "$FIXTURES/var-parity" "$W/fixtures/"
chmod -R u+w "$W/fixtures"

# 4. The app, framework-dependent, without the CPU libtorch (the GPU machine's pip libtorch replaces it).
log "dotnet publish"
dotnet publish src/Cli -c Release -r linux-x64 --self-contained false -nologo -v q -o "$W/app" >&2
before=$(du -sm "$W/app" | cut -f1)
find "$W/app" \( -name 'libtorch*' -o -name 'libc10*' -o -name 'libgomp*' -o -name 'libnnapi_backend*' -o -name 'libaoti_custom_ops*' \
  -o -name 'libbackend_with_compiler*' -o -name 'libjitbackend_test*' -o -name 'libshm*' -o -name 'libcaffe2*' \) -delete
find "$W/app" -name '*.pdb' -delete
log "app: $before MB published, $(du -sm "$W/app" | cut -f1) MB without the CPU libtorch"
tar -C "$W" -cf - app | xz -9 -T1 > "$W/app.tar.xz"

# 5. The .NET runtime (the app needs Microsoft.NETCore.App only: see var.runtimeconfig.json).
ver=$(ls "$DOTNET_DIR/shared/Microsoft.NETCore.App" | grep '^10\.' | sort -V | tail -1)
fxr=$(ls "$DOTNET_DIR/host/fxr" | sort -V | tail -1)
log "packing .NET runtime $ver (fxr $fxr) from $DOTNET_DIR"
tar -C "$DOTNET_DIR" -cf - dotnet "host/fxr/$fxr" "shared/Microsoft.NETCore.App/$ver" | xz -9 -T1 > "$W/dotnet-runtime.tar.xz"

# Only what run.sh reads travels: the unpacked app stays here for the CPU dry run.
carried=(native official-var fixtures app.tar.xz dotnet-runtime.tar.xz)
total=0
for p in "${carried[@]}"; do
  k=$(du -sk --apparent-size "$W/$p" | cut -f1); total=$((total + k))
  printf '[prepare] carry %-24s %8d KB\n' "$p" "$k" >&2
done
printf '[prepare] carry total %d KB = %.1f MiB (the device tool carries at most 64 MiB)\n' "$total" "$(echo "$total/1024" | bc -l)" >&2
printf '[prepare] carry: [%s]\n' "$(printf '"bench/gpu/.work/%s", ' "${carried[@]}" | sed 's/, $//')" >&2
