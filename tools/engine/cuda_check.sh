#!/usr/bin/env bash
# The engine on an NVIDIA GPU: the CUDA tests (CUDA against the CPU), then prefill/decode speed on CUDA and
# on the CPU with `kotodama bench engine`, on Qwen3-shaped random GGUFs (0.6B and 1.7B, Q4_K).
#
#   tools/engine/cuda_check.sh bundle DIR      # where Rust is: builds the engine's test binary and the
#                                              # CLI with --features cuda into DIR (toolkit: cuda_toolkit.sh,
#                                              # in $CUDA_TOOLKIT_DIR if set)
#   tools/engine/cuda_check.sh run DIR [OUT]   # on the GPU machine, no Rust needed: results into OUT
#                                              # (default DIR/results)
#
# `run` needs the NVIDIA driver and the CUDA 13 runtime libraries (cudart, cublas, cublasLt, curand, nvrtc):
# a CUDA toolkit, or PyTorch's nvidia-* wheels, which it finds by itself.
# Env for `run`: PP (prompt tokens, 512), TG (generated tokens, 128), SHAPES of the random GGUFs ("0.6b 1.7b"),
# KOTODAMA_SMOLLM2_GGUF (a real GGUF to add), STEPS ("tests real bench all").
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cmd="${1:-}"; DIR="${2:-}"
[[ -n "$cmd" && -n "$DIR" ]] || { sed -n 2,13p "$0" >&2; exit 2; }

bundle() {
  mkdir -p "$DIR"
  eval "$("$ROOT/tools/engine/cuda_toolkit.sh" ${CUDA_TOOLKIT_DIR:+"$CUDA_TOOLKIT_DIR"})"
  # The GPU machine's processor is not this one: AVX2/FMA (x86-64-v3) instead of target-cpu=native.
  export RUSTFLAGS="${RUSTFLAGS:--C target-cpu=x86-64-v3}"
  cd "$ROOT"
  local tests
  tests="$(cargo test -p kotodama-engine --features cuda --no-run --message-format=json |
    python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "kotodama_engine" and m["profile"]["test"]:
        print(m["executable"])')"
  cargo build -p kotodama-cli --features cuda
  local target="${CARGO_TARGET_DIR:-$ROOT/target}"
  cp "$tests" "$DIR/engine-tests"
  cp "$target/debug/kotodama" "$DIR/kotodama"
  strip --strip-debug "$DIR/engine-tests" "$DIR/kotodama"
  cp "$ROOT/tools/engine/make_qwen3_gguf.py" "$ROOT/tools/engine/cuda_check.sh" "$DIR/"
  if [[ -n "${KOTODAMA_QWEN3_TOKENIZER:-}" && -f "$KOTODAMA_QWEN3_TOKENIZER" ]]; then
    xz -T0 -6 -c "$KOTODAMA_QWEN3_TOKENIZER" >"$DIR/qwen3-tokenizer.json.xz"
  fi
  xz -T0 -6 -f "$DIR/engine-tests" "$DIR/kotodama"
  ls -la "$DIR"
}

# Adds to LD_LIBRARY_PATH a folder holding each library the binaries need, where the loader lacks it.
find_libs() {
  local roots=(/usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/x86_64-linux-gnu /usr/local/cuda/lib64
    /usr/local/cuda/targets/x86_64-linux/lib)
  local py
  py="$(python3 -c 'import nvidia, os; print(" ".join(os.path.abspath(p) for p in nvidia.__path__))' 2>/dev/null || true)"
  local lib dir found
  for lib in libcuda.so.1 libcudart.so.13 libcublas.so.13 libcublasLt.so.13 libcurand.so.10 libnvrtc.so.13; do
    if ldconfig -p 2>/dev/null | grep -q "$lib "; then continue; fi
    found=""
    for dir in "${roots[@]}" ${LD_LIBRARY_PATH//:/ }; do
      [[ -e "$dir/$lib" ]] && { found="$dir"; break; }
    done
    if [[ -z "$found" && -n "$py" ]]; then
      found="$(find $py -name "$lib*" -print -quit 2>/dev/null | xargs -r dirname)"
    fi
    if [[ -n "$found" ]]; then
      export LD_LIBRARY_PATH="$found${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    else
      echo "warning: $lib not found" >&2
    fi
  done
}

# xz, else Python's lzma.
unxz() {
  if command -v xz >/dev/null; then xz -dc "$1"; else
    python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' "$1"
  fi
}

run() {
  local OUT="${3:-$DIR/results}"
  PP="${PP:-512}"; TG="${TG:-128}"; SHAPES="${SHAPES-0.6b 1.7b}"; STEPS="${STEPS:-tests real bench all}"
  step() { [[ " $STEPS " == *" $1 "* ]]; }
  mkdir -p "$OUT"
  local work; work="$(mktemp -d)"
  for f in engine-tests kotodama; do
    if [[ -e "$DIR/$f.xz" ]]; then unxz "$DIR/$f.xz" >"$work/$f"; else cp "$DIR/$f" "$work/$f"; fi
    chmod +x "$work/$f"
  done
  find_libs
  {
    echo "## machine"; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
    nproc; grep -m1 "model name" /proc/cpuinfo || true
    echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
    ldd "$work/engine-tests" | grep -E "cuda|cublas|curand|nvrtc|not found" || true
  } >"$OUT/machine.txt" 2>&1
  cat "$OUT/machine.txt"

  local rc=0
  if step tests; then
    echo "## CUDA tests (tiny models)"
    "$work/engine-tests" cuda_tests --test-threads=1 --nocapture 2>&1 | tee "$OUT/cuda_tests.log" || rc=1
  fi

  local models=()
  if [[ -e "$DIR/qwen3-tokenizer.json.xz" ]]; then
    unxz "$DIR/qwen3-tokenizer.json.xz" >"$work/tokenizer.json"
    for shape in $SHAPES; do
      python3 "$DIR/make_qwen3_gguf.py" "$work/tokenizer.json" "$work/qwen3-$shape.gguf" --shape "$shape"
      models+=("$work/qwen3-$shape.gguf")
    done
  fi
  if [[ -n "${KOTODAMA_SMOLLM2_GGUF:-}" && -f "$KOTODAMA_SMOLLM2_GGUF" ]]; then
    models=("$KOTODAMA_SMOLLM2_GGUF" ${models[@]+"${models[@]}"})
  fi

  if step real; then
    echo "## CUDA against the CPU on real-size GGUFs"
    : >"$OUT/real_gguf.log"
    for m in ${models[@]+"${models[@]}"}; do
      KOTODAMA_CUDA_GGUF="$m" "$work/engine-tests" cuda_tests::a_real_gguf --nocapture 2>&1 |
        tee -a "$OUT/real_gguf.log" || rc=1
    done
  fi

  if step bench; then
    echo "## kotodama bench engine (pp$PP, tg$TG)"
    : >"$OUT/bench.jsonl"
    for m in ${models[@]+"${models[@]}"}; do
      for dev in cuda cpu; do
        KOTODAMA_HOME="$work/home" "$work/kotodama" bench engine --model "$m" --device "$dev" \
          --threads "$(nproc)" --prompt-tokens "$PP" --gen-tokens "$TG" --json | tee -a "$OUT/bench.jsonl" || rc=1
      done
    done
    python3 - "$OUT/bench.jsonl" <<'PY' | tee "$OUT/bench.md"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print("| file | device | threads | prefill tok/s | decode tok/s | TTFT ms |")
print("|---|---|---:|---:|---:|---:|")
for r in rows:
    print(f"| {r['file']} | {r['device']} | {r['threads']} | {r['prefillTokensPerSecond']:.1f} | "
          f"{r['decodeTokensPerSecond']:.1f} | {r['timeToFirstTokenMs']:.0f} |")
PY
  fi

  if step all; then
    echo "## every engine test in the CUDA build"
    "$work/engine-tests" --test-threads="$(nproc)" 2>&1 | tail -40 | tee "$OUT/all_tests.log" || rc=1
  fi
  rm -rf "$work"
  return $rc
}

case "$cmd" in
  bundle) bundle ;;
  run) run "$@" ;;
  *) sed -n 2,13p "$0" >&2; exit 2 ;;
esac
