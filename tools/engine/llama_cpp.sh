#!/usr/bin/env bash
# Builds llama.cpp from the PyPI source package llama-cpp-python==0.3.36 (vendored llama.cpp) with cmake,
# CPU only, native SIMD, into $LLAMA_DIR (default target/llama.cpp). Prints the bin directory.
#   tools/engine/llama_cpp.sh            # build (about 15 minutes on 2 cores), idempotent
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
LLAMA_DIR="${LLAMA_DIR:-$ROOT/target/llama.cpp}"
BIN="$LLAMA_DIR/build/bin"
if [[ -x "$BIN/llama-bench" && -x "$BIN/llama-server" && -x "$BIN/llama-quantize" ]]; then echo "$BIN"; exit 0; fi
mkdir -p "$LLAMA_DIR"
if [[ ! -d "$LLAMA_DIR/src" ]]; then
  tar -xzf "$("$ROOT/tools/engine/llama_cpp_sdist.sh" "$LLAMA_DIR")" -C "$LLAMA_DIR"
  ln -sfn "$LLAMA_DIR/llama_cpp_python-0.3.36/vendor/llama.cpp" "$LLAMA_DIR/src"
fi
cmake -S "$LLAMA_DIR/src" -B "$LLAMA_DIR/build" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON \
  -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_SERVER=ON >&2
cmake --build "$LLAMA_DIR/build" --config Release -j "${JOBS:-$(nproc)}" --target llama-bench llama-server llama-quantize >&2
echo "$BIN"
