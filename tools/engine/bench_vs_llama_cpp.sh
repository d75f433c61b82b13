#!/usr/bin/env bash
# Prefill/decode tokens per second of kotodama vs llama.cpp's llama-bench on the same GGUF files, at 1 and
# 2 threads, side by side with ratios (kotodama / llama.cpp); then time to first token and peak RSS.
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
memory_rows=()
for model in "$@"; do
  for t in $THREADS; do
    ours="$("$KOTODAMA" bench engine --model "$model" --threads "$t" --prompt-tokens "$PP" --gen-tokens "$TG" --json)"
    theirs="$(/usr/bin/time -f %M -o /tmp/llama-bench-rss.$$ "$BIN/llama-bench" -m "$model" -t "$t" -p "$PP" -n "$TG" -r 3 -o json)"
    rows="$(python3 - "$model" "$t" "$ours" "$theirs" "$(cat /tmp/llama-bench-rss.$$)" <<'PY'
import json, sys, os
model, t, ours, theirs, their_rss_kb = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4]), int(sys.argv[5])
pp = next(r for r in theirs if r["n_prompt"] > 0 and r["n_gen"] == 0)
tg = next(r["avg_ts"] for r in theirs if r["n_gen"] > 0 and r["n_prompt"] == 0)
op, od = ours["prefillTokensPerSecond"], ours["decodeTokensPerSecond"]
name, mb = os.path.basename(model), os.path.getsize(model) / 2**20
print(f"| {name} | {t} | {op:.1f} | {pp['avg_ts']:.1f} | {op/pp['avg_ts']:.2f} | {od:.1f} | {tg:.1f} | {od/tg:.2f} |")
# llama-bench reports no time to first token: its prompt-processing time is the nearest figure.
print(f"| {name} | {t} | {ours['timeToFirstTokenMs']:.0f} | {pp['avg_ns'] / 1e6:.0f} | {mb:.0f} | {ours['peakRssMb']:.0f} | {their_rss_kb / 1024:.0f} |")
PY
)"
    echo "${rows%%$'\n'*}"
    memory_rows+=("${rows#*$'\n'}")
  done
done
rm -f /tmp/llama-bench-rss.$$
echo
echo "| file | threads | kotodama time to first token, ms (pp$PP + 1 token) | llama.cpp pp$PP time, ms | file MB | kotodama peak RSS MB | llama-bench peak RSS MB |"
echo "|---|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${memory_rows[@]}"
