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
  # The sdist only (pip download would build its build dependencies from source first).
  url="$(curl -sf https://pypi.org/simple/llama-cpp-python/ | grep -o "https://[^\"]*llama_cpp_python-0.3.36.tar.gz#sha256=[0-9a-f]*" | head -1)"
  mkdir -p "$LLAMA_DIR/sdist" && curl -sfL "${url%%#*}" -o "$LLAMA_DIR/sdist/llama_cpp_python-0.3.36.tar.gz"
  echo "${url##*sha256=}  $LLAMA_DIR/sdist/llama_cpp_python-0.3.36.tar.gz" | sha256sum -c - >&2
  tar -xzf "$LLAMA_DIR"/sdist/llama_cpp_python-0.3.36.tar.gz -C "$LLAMA_DIR"
  ln -sfn "$LLAMA_DIR/llama_cpp_python-0.3.36/vendor/llama.cpp" "$LLAMA_DIR/src"
fi
cmake -S "$LLAMA_DIR/src" -B "$LLAMA_DIR/build" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON \
  -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_SERVER=ON >&2
cmake --build "$LLAMA_DIR/build" --config Release -j "${JOBS:-$(nproc)}" --target llama-bench llama-server llama-quantize >&2
echo "$BIN"
