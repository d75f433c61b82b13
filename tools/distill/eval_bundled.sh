#!/usr/bin/env bash
# The evaluation table of the distillation issue: for each bundled persona, a vanilla-SFT adapter and a
# CoT-distilled adapter trained with the same preset and data, then base model + persona prompt vs both,
# on the persona's held-out test lines. Writes one markdown table per persona to stdout; logs to stderr.
#   tools/distill/eval_bundled.sh [PERSONA ...]      (default: every bundled persona)
# Env: KOTODAMA (the binary; default target/debug/kotodama), PRESET (quick), STEPS (the preset's),
# EXAMPLES (test examples per system, 24), KOTODAMA_HOME (a fresh data folder is made when unset;
# it needs the default models installed: `kotodama models install ...` as `make run` does).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
KOTODAMA="${KOTODAMA:-$ROOT/target/debug/kotodama}"
PRESET="${PRESET:-quick}"; EXAMPLES="${EXAMPLES:-24}"
personas=("$@"); [[ ${#personas[@]} -gt 0 ]] || personas=(mikoto ririka tsubaki)
steps=(); [[ -n "${STEPS:-}" ]] && steps=(--steps "$STEPS")
for persona in "${personas[@]}"; do
  for variant in vanilla cot; do
    start=$SECONDS
    "$KOTODAMA" distill "$persona" --preset "$PRESET" --variant "$variant" "${steps[@]}" >&2
    echo "$persona $variant: $((SECONDS - start)) s wall" >&2
  done
  echo "### $persona ($PRESET preset, $EXAMPLES test examples per system)"
  "$KOTODAMA" eval "$persona" --examples "$EXAMPLES"
  echo
done
