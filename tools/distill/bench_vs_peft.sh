#!/usr/bin/env bash
# LoRA training throughput, kotodama vs PyTorch + PEFT on the CPU, side by side: the same model (f32
# weights dequantized from the same GGUF), the same token sequences, rank, projections, dropout,
# optimizer and gradient accumulation, the same thread count. Prints both JSON results and the ratio.
#   tools/distill/bench_vs_peft.sh [PERSONA] [STEPS] [THREADS]
# Env: KOTODAMA (the binary; default target/debug/kotodama, whose engine is built at opt-level 3),
# BASE (student model path; default: the installed default chat model), PRESET (quick | full).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
PERSONA="${1:-mikoto}"; STEPS="${2:-4}"; THREADS="${3:-$(nproc)}"
KOTODAMA="${KOTODAMA:-$ROOT/target/debug/kotodama}"
source "$ROOT/tools/distill/peft_venv.sh"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
base_args=(); [[ -n "${BASE:-}" ]] && base_args=(--base "$BASE")
"$KOTODAMA" bench train "$PERSONA" --preset "${PRESET:-quick}" --steps "$STEPS" --threads "$THREADS" \
  "${base_args[@]}" --reference-out "$work/reference.json" > "$work/kotodama.json"
"$PEFT_PYTHON" "$ROOT/tools/distill/peft_reference.py" "$work/reference.json" --threads "$THREADS" \
  > "$work/peft.json"
python3 - "$work/kotodama.json" "$work/peft.json" <<'PY'
import json, sys
ours, theirs = (json.load(open(p)) for p in sys.argv[1:3])
c = ours["config"]
print(f"LoRA r{c['rank']} on {','.join(c['targets'])}, {ours['examples']} sequences "
      f"({ours['sequenceTokens']} tokens), {len(ours['losses'])} steps of {c['gradAccum']}, {ours['threads']} threads")
print("| system | tokens/s | seconds | peak RSS MB | first loss | last loss |")
print("|---|---:|---:|---:|---:|---:|")
for name, r in (("kotodama", ours), (f"PyTorch {theirs['torch']} + PEFT", theirs)):
    print(f"| {name} | {r['sequenceTokensPerSecond']:.1f} | {r['seconds']:.1f} | "
          f"{r['peakRssBytes'] / 2**20:.0f} | {r['losses'][0]:.3f} | {r['losses'][-1]:.3f} |")
print(f"ratio (kotodama / PyTorch): {ours['sequenceTokensPerSecond'] / theirs['sequenceTokensPerSecond']:.2f}")
PY
