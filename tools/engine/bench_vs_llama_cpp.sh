#!/usr/bin/env bash
# Prefill/decode tokens per second of kotodama vs llama.cpp's llama-bench on the same GGUF files, at 1 and
# 2 threads, side by side with ratios (kotodama / llama.cpp); then time to first token and peak RSS.
# The two engines take turns REPS times per row and the medians are reported: on a shared machine the
# speed drifts by 20-30% over minutes, and alternating runs expose both engines to the same drift.
# Decode is timed on both after a context of PP tokens (llama-bench -d): kotodama's decode steps
# follow its prefill, and attention over a longer context costs more per token.
#   tools/engine/bench_vs_llama_cpp.sh MODEL.gguf [MODEL.gguf ...]
# Env: PP (prompt tokens, 200), TG (generated tokens, 64), THREADS ("1 2"), REPS (3), KOTODAMA (the
# binary), LLAMA_BIN (a llama.cpp bin directory; default: build it with llama_cpp.sh).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
PP="${PP:-200}"; TG="${TG:-64}"; THREADS="${THREADS:-1 2}"; REPS="${REPS:-3}"
KOTODAMA="${KOTODAMA:-$ROOT/target/debug/kotodama}"
BIN="${LLAMA_BIN:-$("$ROOT/tools/engine/llama_cpp.sh")}"
[[ $# -gt 0 ]] || { echo "usage: $0 MODEL.gguf..." >&2; exit 2; }
runs="$(mktemp -d)"
trap 'rm -rf "$runs"' EXIT
for model in "$@"; do
  for t in $THREADS; do
    row="$runs/$(basename "$model").t$t"
    for _ in $(seq "$REPS"); do
      "$KOTODAMA" bench engine --model "$model" --threads "$t" --prompt-tokens "$PP" --gen-tokens "$TG" --json >>"$row.ours"
      /usr/bin/time -f %M -a -o "$row.rss" \
        "$BIN/llama-bench" -m "$model" -t "$t" -p "$PP" -n 0 -r 1 -o jsonl >>"$row.theirs"
      /usr/bin/time -f %M -a -o "$row.rss" \
        "$BIN/llama-bench" -m "$model" -t "$t" -p 0 -n "$TG" -d "$PP" -r 1 -o jsonl >>"$row.theirs"
    done
    echo "$model" >"$row.path"
  done
done
python3 - "$runs" "$PP" <<'PY'
import glob, json, os, statistics, sys
runs, pp_tokens = sys.argv[1], sys.argv[2]
median = statistics.median
speed, memory = [], []
for path_file in sorted(glob.glob(f"{runs}/*.path")):
    row = path_file[:-len(".path")]
    model = open(path_file).read().strip()
    threads = row.rsplit(".t", 1)[1]
    ours = [json.loads(l) for l in open(row + ".ours") if l.strip()]
    theirs = [json.loads(l) for l in open(row + ".theirs") if l.strip()]
    their_pp = [r for r in theirs if r["n_prompt"] > 0 and r["n_gen"] == 0]
    their_tg = [r["avg_ts"] for r in theirs if r["n_gen"] > 0 and r["n_prompt"] == 0]
    op, od = [o["prefillTokensPerSecond"] for o in ours], [o["decodeTokensPerSecond"] for o in ours]
    tp = [r["avg_ts"] for r in their_pp]
    # Each run's ratio is taken against the other engine's run beside it.
    rp = median(a / b for a, b in zip(op, tp))
    rd = median(a / b for a, b in zip(od, their_tg))
    name, mb = os.path.basename(model), os.path.getsize(model) / 2**20
    speed.append(f"| {name} | {threads} | {median(op):.1f} | {median(tp):.1f} | {rp:.2f} | "
                 f"{median(od):.1f} | {median(their_tg):.1f} | {rd:.2f} |")
    their_rss = max(int(l) for l in open(row + ".rss") if l.strip().isdigit())
    # llama-bench reports no time to first token: its prompt-processing time is the nearest figure.
    memory.append(f"| {name} | {threads} | {median(o['timeToFirstTokenMs'] for o in ours):.0f} | "
                  f"{median(r['avg_ns'] for r in their_pp) / 1e6:.0f} | {mb:.0f} | "
                  f"{max(o['peakRssMb'] for o in ours):.0f} | {their_rss / 1024:.0f} |")
print("| file | threads | prefill kotodama | prefill llama.cpp | ratio | decode kotodama | decode llama.cpp | ratio |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
print("\n".join(speed))
print()
print(f"| file | threads | kotodama time to first token, ms (pp{pp_tokens} + 1 token) | llama.cpp pp{pp_tokens} time, ms "
      "| file MB | kotodama peak RSS MB | llama-bench peak RSS MB |")
print("|---|---:|---:|---:|---:|---:|---:|")
print("\n".join(memory))
PY
