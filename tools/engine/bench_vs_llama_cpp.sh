#!/usr/bin/env bash
# Prefill/decode tokens per second of kotodama vs llama.cpp's llama-bench on the same GGUF files, at 1 and
# 2 threads, side by side with ratios (kotodama / llama.cpp).
#   tools/engine/bench_vs_llama_cpp.sh MODEL.gguf [MODEL.gguf ...]
# Env: PP (prompt tokens, 200), TG (generated tokens, 64), THREADS ("1 2"), KOTODAMA (the binary),
# LLAMA_BIN (a llama.cpp bin directory; default: build it with llama_cpp.sh).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
PP="${PP:-200}"; TG="${TG:-64}"; THREADS="${THREADS:-1 2}"
KOTODAMA="${KOTODAMA:-$ROOT/target/debug/kotodama}"
BIN="${LLAMA_BIN:-$("$ROOT/tools/engine/llama_cpp.sh")}"
[[ $# -gt 0 ]] || { echo "usage: $0 MODEL.gguf..." >&2; exit 2; }
echo "| file | threads | prefill kotodama | prefill llama.cpp | ratio | decode kotodama | decode llama.cpp | ratio |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for model in "$@"; do
  for t in $THREADS; do
    ours="$("$KOTODAMA" bench engine --model "$model" --threads "$t" --prompt-tokens "$PP" --gen-tokens "$TG" --json)"
    theirs="$("$BIN/llama-bench" -m "$model" -t "$t" -p "$PP" -n "$TG" -r 3 -o json)"
    python3 - "$model" "$t" "$ours" "$theirs" <<'PY'
import json, sys, os
model, t, ours, theirs = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4])
pp = next(r["avg_ts"] for r in theirs if r["n_prompt"] > 0 and r["n_gen"] == 0)
tg = next(r["avg_ts"] for r in theirs if r["n_gen"] > 0 and r["n_prompt"] == 0)
op, od = ours["prefillTokensPerSecond"], ours["decodeTokensPerSecond"]
print(f"| {os.path.basename(model)} | {t} | {op:.1f} | {pp:.1f} | {op/pp:.2f} | {od:.1f} | {tg:.1f} | {od/tg:.2f} |")
PY
  done
done
