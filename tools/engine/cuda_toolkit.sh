#!/usr/bin/env bash
# Build tools for `--features cuda` on a machine without a CUDA toolkit (or without a GPU): CUDA 13.0's
# nvcc, headers and the libraries candle links against, from PyPI's NVIDIA wheels, into one folder.
#
#   eval "$(tools/engine/cuda_toolkit.sh [DIR])"      # DIR defaults to .cache/cuda13
#   cargo test -p kotodama-engine --features cuda --no-run
#
# candle 0.11 links the CUDA libraries at build time (cudarc's dynamic-linking): libcublas, libcublasLt,
# libcurand, libnvrtc, libcudart and the driver's libcuda. The driver does not come from PyPI, so this
# writes a stub libcuda.so (every cu* entry point cudarc binds, returning an error) to link against;
# at run time the real libcuda.so.1 of the NVIDIA driver is loaded instead. Without a driver, a binary
# runs with `LD_LIBRARY_PATH=$CUDA_ROOT/lib:$CUDA_ROOT/lib/stubs`: every CUDA device then fails to open
# and the CUDA tests skip themselves.
#
# 13.0 matches the oldest driver the project's GPU machines run (580, CUDA 13.0): the PTX that candle
# compiles must not be newer than the driver. CUDA_COMPUTE_CAP (default 90, Hopper) selects the GPU
# generation the kernels are built for; set it to your card's (e.g. 86 for an RTX 30x0, 89 for 40x0).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DIR="${1:-$ROOT/.cache/cuda13}"
CUDA="$DIR/nvidia/cu13"
CAP="${CUDA_COMPUTE_CAP:-90}"

if [[ ! -x "$CUDA/bin/nvcc" ]]; then
  python3 -m pip install --quiet --no-deps --target "$DIR" \
    "nvidia-cuda-nvcc==13.0.88" "nvidia-cuda-crt==13.0.88" "nvidia-nvvm==13.0.88" \
    "nvidia-cuda-runtime==13.0.96" "nvidia-cuda-cccl==13.0.85" "nvidia-cuda-nvrtc==13.0.88" \
    "nvidia-curand==10.4.0.35" "nvidia-cublas==13.0.2.14" >&2
fi

# The linker wants unversioned names.
for lib in cudart nvrtc cublas cublasLt; do ln -sf "lib$lib.so.13" "$CUDA/lib/lib$lib.so"; done
ln -sf libcurand.so.10 "$CUDA/lib/libcurand.so"

# The driver stub, from the entry points of the cudarc version in Cargo.lock.
STUBS="$CUDA/lib/stubs"
if [[ ! -e "$STUBS/libcuda.so" ]]; then
  mkdir -p "$STUBS"
  version="$(grep -A1 '^name = "cudarc"' "$ROOT/Cargo.lock" | sed -n 's/^version = "\(.*\)"/\1/p')"
  (cd "$ROOT" && cargo fetch --quiet >&2)
  cudarc="$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/"cudarc-$version" | tail -1)"
  grep -ohE 'pub unsafe fn cu[A-Za-z0-9_]+\(' "$cudarc/src/driver/sys/mod.rs" |
    sed -E 's/pub unsafe fn (.*)\(/int \1(void) { return 999; }/' | sort -u >"$STUBS/libcuda_stub.c"
  cc -shared -fPIC -Wl,-soname,libcuda.so.1 -o "$STUBS/libcuda.so.1" "$STUBS/libcuda_stub.c"
  ln -sf libcuda.so.1 "$STUBS/libcuda.so"
fi

cat <<EOF
export CUDA_ROOT="$CUDA"
export CUDA_HOME="$CUDA"
export NVCC="$CUDA/bin/nvcc"
export PATH="$CUDA/bin:\$PATH"
export CUDA_COMPUTE_CAP="$CAP"
export LD_LIBRARY_PATH="$CUDA/lib:$STUBS\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
EOF
