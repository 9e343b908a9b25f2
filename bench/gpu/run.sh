#!/usr/bin/env bash
# One command on an NVIDIA machine with pip PyTorch (CUDA) and no internet, from the repository root:
#   bench/gpu/run.sh
# after bench/gpu/prepare.sh filled bench/gpu/.work on a machine with the .NET SDK (README in this folder).
# In order (toolchain.md §9): log versions; build TorchSharp 0.107's libLibTorchSharp.so against this PyTorch's libtorch
# (CMake + Ninja, or g++ directly when CMake fails; skipped when a built .so exists); unpack .NET and the app, put the
# built .so in the app and pip's torch/lib + nvidia/*/lib first on LD_LIBRARY_PATH; the parity fixture on cuda (TF32
# off, 1e-4); the official code and var on the random d16 at batches 1/4/16/64 in bfloat16.
# Every log and JSON goes to $OUT (default bench/gpu/.work/out); $OUT/summary.json lists each step's status.
# Env: PYTHON (python3), BATCHES (1,4,16,64), REPS (3), DTYPE (bfloat16), JOBS (nproc),
#      GPU_DRY_RUN=1: the app half on this CPU (no native build, the NuGet CPU libtorch on LD_LIBRARY_PATH, --device cpu,
#      a tiny bench, --threads ${THREADS:-1}; the official code only if this python has torch).
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
W=$ROOT/bench/gpu/.work
B=$ROOT/bench/gpu/.build
OUT=${OUT:-$W/out}
mkdir -p "$OUT" "$B"
OUT=$(cd "$OUT" && pwd)
DRY=${GPU_DRY_RUN:-0}
PY=${PYTHON:-python3}
JOBS=${JOBS:-$(nproc)}
if [ "$DRY" = 1 ]; then
  DEV=cpu; BATCHES=${BATCHES:-1}; REPS=${REPS:-1}; DTYPE=${DTYPE:-float32}; DEPTH=${DEPTH:-2}; THREADS=${THREADS:-1}
else
  DEV=cuda; BATCHES=${BATCHES:-1,4,16,64}; REPS=${REPS:-3}; DTYPE=${DTYPE:-bfloat16}; DEPTH=${DEPTH:-16}; THREADS=${THREADS:-}
fi
THREAD_ARGS=()
[ -n "$THREADS" ] && THREAD_ARGS=(--threads "$THREADS")
STEPS=()
FAILED=0
T0=$(date +%s)
say() { echo "[gpu $(( $(date +%s) - T0 ))s] $*" >&2; }

# step NAME TIMEOUT_S FUNCTION: runs FUNCTION with its output in $OUT/NAME.log and records its status.
step() {
  local name=$1 limit=$2 fn=$3 t rc
  t=$(date +%s)
  say "$name ..."
  ( "$fn" ) > "$OUT/$name.log" 2>&1 &
  local pid=$!
  ( sleep "$limit"; echo "[gpu] $name: over its $limit s, stopped" >&2; kill -TERM -- "-$pid" ) > /dev/null 2>&1 &
  local watchdog=$!
  wait "$pid"; rc=$?
  kill -- "-$watchdog" 2>/dev/null; wait "$watchdog" 2>/dev/null
  local status
  case $rc in
    0) status=ok ;;
    77) status=skipped ;;   # the step said it cannot run here (e.g. no torch in this python)
    *) status="failed (exit $rc)"; FAILED=1 ;;
  esac
  STEPS+=("\"$name\": {\"status\": \"$status\", \"seconds\": $(( $(date +%s) - t ))}")
  say "$name: $status ($(( $(date +%s) - t )) s, log $OUT/$name.log)"
  return "$rc"
}
set -m   # each step in its own process group, so the watchdog ends a step's children too

summary() {
  local IFS=,
  printf '{"dry_run": %s, "device": "%s", "seconds": %d, "steps": {%s}}\n' \
    "$([ "$DRY" = 1 ] && echo true || echo false)" "$DEV" "$(( $(date +%s) - T0 ))" "${STEPS[*]}" > "$OUT/summary.json"
  say "summary: $OUT/summary.json"
  cat "$OUT/summary.json" >&2
}
trap summary EXIT

# --- where libtorch is ---------------------------------------------------------------------------------------------
if [ "$DRY" = 1 ]; then
  TLIB=$(ls -d "$HOME"/.nuget/packages/libtorch-cpu-linux-x64/*/runtimes/linux-x64/native 2>/dev/null | sort -V | tail -1)
  [ -n "$TLIB" ] || { say "dry run: no NuGet libtorch-cpu in ~/.nuget/packages"; exit 2; }
  T=""; NVLIBS=""
else
  T=$("$PY" -c 'import os, torch; print(os.path.dirname(torch.__file__))') || { say "no torch in $PY"; exit 2; }
  TLIB=$T/lib
  NVLIBS=$(find "$(dirname "$T")/nvidia" -maxdepth 3 -type d -name lib 2>/dev/null | sort | paste -sd:)
fi

versions() {
  set -x
  uname -a; cat /etc/os-release 2>/dev/null | head -3; nproc; free -g
  if [ -n "$T" ]; then
    "$PY" - <<'PY'
import torch
print("torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version())
print("cxx11_abi", torch._C._GLIBCXX_USE_CXX11_ABI, "(TorchSharp hard-codes 1)")
print("cuda_available", torch.cuda.is_available())
if torch.cuda.is_available():
    print("gpu", torch.cuda.get_device_name(0), "capability", torch.cuda.get_device_capability(0))
print("torch_dir", torch.__file__)
PY
    nvidia-smi
  fi
  command -v nvcc && nvcc --version
  cmake --version; ninja --version; g++ --version | head -1
  ldd --version | head -1
  strings "$(g++ -print-file-name=libstdc++.so.6)" | grep -o 'GLIBCXX_3\.4\.[0-9]*' | sort -V | tail -1
  echo "TLIB=$TLIB"; echo "NVLIBS=$NVLIBS"
  true
}

exports() { nm -D --defined-only "$1" | awk '$2 == "T" { print $3 }' | sort -u; }

# --- TorchSharp's native library against this libtorch (toolchain.md §9, steps 2-6) ------------------------------------
build_native() {
  set -x
  local abi
  abi=$("$PY" -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))')
  [ "$abi" = 1 ] || { echo "this torch is not cxx11-ABI ($abi); TorchSharp's CMakeLists hard-codes -D_GLIBCXX_USE_CXX11_ABI=1"; return 1; }
  rm -rf "$B/native" "$B/cmake" "$B/direct"
  cp -r "$W/native/src/Native" "$B/native"
  # -Werror would stop the build on a newer libtorch's deprecation warnings (a -Wno-error earlier on the line loses).
  sed -i 's/^\(\s*\)add_definitions(-Werror)/\1# add_definitions(-Werror)  (removed by bench\/gpu\/run.sh)/' "$B/native/CMakeLists.txt"
  ! grep -n '^[^#]*-Werror' "$B/native/CMakeLists.txt"
  local so="" gen=Ninja
  command -v ninja >/dev/null || gen="Unix Makefiles"
  local cuda_args=()
  command -v nvcc >/dev/null && cuda_args=(-DCMAKE_CUDA_COMPILER="$(command -v nvcc)" -DCMAKE_CUDA_ARCHITECTURES=90)
  if TORCH_CUDA_ARCH_LIST=9.0 cmake -S "$B/native" -B "$B/cmake" -G "$gen" -DCMAKE_BUILD_TYPE=Release \
       -DTorch_DIR="$T/share/cmake/Torch" -DLIBTORCH_PATH="$T/share/cmake/Torch" "${cuda_args[@]}" \
       -DCMAKE_POLICY_VERSION_MINIMUM=3.5; then
    if [ "$gen" = Ninja ]; then ninja -C "$B/cmake" -k 0 -j "$JOBS"; else make -C "$B/cmake" -k -j "$JOBS"; fi
    so=$(find "$B/cmake" -name libLibTorchSharp.so -type f | head -1)
  fi
  if [ -z "$so" ]; then
    echo "=== CMake route failed: compiling directly with g++"
    mkdir -p "$B/direct"
    local flags=(-O2 -fPIC -fvisibility=hidden -fstack-protector-strong -D_GLIBCXX_USE_CXX11_ABI=1 -D__LINUX__ -D_NO_ASYNCRTIMP -D_NO_PPLXIMP -DNDEBUG
                 -I"$T/include" -I"$T/include/torch/csrc/api/include")
    export B
    printf '%s\n' "$B"/native/LibTorchSharp/*.cpp | xargs -P "$JOBS" -I{} sh -c \
      'g++ -std=gnu++17 "$@" -c "{}" -o "$B/direct/$(basename "{}").o" || echo "COMPILE FAILED: {}"' _ "${flags[@]}"
    gcc "${flags[@]}" -c "$B/native/LibTorchSharp/crc32c.c" -o "$B/direct/crc32c.c.o"
    local n_src n_obj
    n_src=$(ls "$B"/native/LibTorchSharp/*.cpp "$B"/native/LibTorchSharp/*.c | wc -l)
    n_obj=$(ls "$B"/direct/*.o | wc -l)
    [ "$n_obj" = "$n_src" ] || { echo "$n_obj of $n_src units compiled"; return 1; }
    local cudalibs=()
    [ -e "$T/lib/libtorch_cuda.so" ] && cudalibs=(-ltorch_cuda -lc10_cuda)
    g++ -shared -o "$B/direct/libLibTorchSharp.so" "$B"/direct/*.o -Wl,-Bsymbolic,-Bsymbolic-functions -Wl,--build-id=sha1 \
      -L"$T/lib" -Wl,--no-as-needed -ltorch -ltorch_cpu "${cudalibs[@]}" -lc10 -Wl,--as-needed -Wl,-rpath,"$T/lib" || return 1
    so=$B/direct/libLibTorchSharp.so
  fi
  cp "$so" "$B/libLibTorchSharp.so"
  check_native "$B/libLibTorchSharp.so"
}

# Step 6: the exports match the NuGet library's (1,166 at 0.107.0) and every dependency resolves.
check_native() {
  local so=$1 ref n missing
  n=$(exports "$so" | wc -l)
  echo "exports: $n"
  ref=$B/nuget-libLibTorchSharp.so
  tar -xJOf "$W/app.tar.xz" app/libLibTorchSharp.so > "$ref" 2>/dev/null
  if [ -s "$ref" ]; then
    missing=$(comm -23 <(exports "$ref") <(exports "$so"))
    echo "NuGet library exports: $(exports "$ref" | wc -l); missing from the built one: $(echo -n "$missing" | grep -c .)"
    [ -n "$missing" ] && echo "$missing" | head -50
  fi
  LD_LIBRARY_PATH="$TLIB${NVLIBS:+:$NVLIBS}" ldd "$so"
  ! LD_LIBRARY_PATH="$TLIB${NVLIBS:+:$NVLIBS}" ldd "$so" | grep 'not found'
  [ "$n" -ge 1100 ]
}

native() {
  for prebuilt in "$B/libLibTorchSharp.so" "$W/libLibTorchSharp.so"; do
    if [ -s "$prebuilt" ] && check_native "$prebuilt"; then
      echo "reusing $prebuilt (delete it to rebuild)"
      [ "$prebuilt" = "$B/libLibTorchSharp.so" ] || cp "$prebuilt" "$B/libLibTorchSharp.so"
      return 0
    fi
  done
  build_native
}

# --- the app on a .NET runtime brought along ----------------------------------------------------------------------
app() {
  set -x
  rm -rf "$B/app" "$B/dotnet"
  mkdir -p "$B/dotnet"
  tar -xJf "$W/app.tar.xz" -C "$B" && tar -xJf "$W/dotnet-runtime.tar.xz" -C "$B/dotnet" || return 1
  if [ "$DRY" != 1 ]; then
    # Overwrite every copy TorchSharp may probe (runtimes/linux-x64/native/ first, then the app folder).
    mkdir -p "$B/app/runtimes/linux-x64/native"
    cp "$B/libLibTorchSharp.so" "$B/app/runtimes/linux-x64/native/libLibTorchSharp.so"
    cp "$B/libLibTorchSharp.so" "$B/app/libLibTorchSharp.so"
  fi
  ! find "$B/app" -name 'libtorch*' -o -name 'libc10*' | grep .   # no CPU libtorch left in the app
  "$B/dotnet/dotnet" --info | head -20
  var --help | head -5
}

var() { "$B/dotnet/dotnet" "$B/app/var.dll" "$@"; }
export DOTNET_ROOT=$B/dotnet DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# pip's libraries stay where they are (their RPATH is $ORIGIN/../../nvidia/...); only the search path points at them.
export LD_LIBRARY_PATH="$TLIB${NVLIBS:+:$NVLIBS}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

parity() {
  var bench parity --fixtures "$W/fixtures" --device "$DEV" "${THREAD_ARGS[@]}" > "$OUT/parity.json"
  local rc=$?
  cat "$OUT/parity.json"
  return $rc
}

official() {
  if ! "$PY" -c 'import torch' 2>/dev/null; then echo "no torch in $PY: official code not timed"; return 77; fi
  local args=(--var-root "$W/official-var" --depth "$DEPTH" --batches "$BATCHES" --reps "$REPS")
  if [ "$DRY" = 1 ]; then args+=(--device cpu); export OFFICIAL_THREADS=$THREADS; else args+=(--device cuda --dtype "$DTYPE"); fi
  "$PY" bench/official/official_bench.py "${args[@]}" > "$OUT/official.json" || return 1
  cat "$OUT/official.json"
}

bench() {
  local args=(--device "$DEV" --depth "$DEPTH" --batches "$BATCHES" --reps "$REPS" --dtypes "$DTYPE" --leak-runs 0 --work "$B/bench-work" "${THREAD_ARGS[@]}")
  [ -s "$OUT/official.json" ] && args+=(--official "$OUT/official.json")
  var bench "${args[@]}" > "$OUT/bench-var.json" || return 1
  cat "$OUT/bench-var.json"
}

step versions 60 versions
if [ "$DRY" = 1 ]; then
  STEPS+=('"native": {"status": "skipped (dry run)", "seconds": 0}')
else
  step native "${NATIVE_TIMEOUT:-420}" native || { say "no libLibTorchSharp.so: see $OUT/native.log"; exit 1; }
  cp "$B/libLibTorchSharp.so" "$OUT/libLibTorchSharp.so"   # comes back with $OUT: carry it as bench/gpu/.work/ next time
fi
step app 120 app || exit 1
step parity 180 parity
step official "${BENCH_TIMEOUT:-300}" official
step bench "${BENCH_TIMEOUT:-300}" bench
exit $FAILED
