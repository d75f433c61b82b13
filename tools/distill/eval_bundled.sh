#!/usr/bin/env bash
# The evaluation table of distillation: for each persona, a vanilla-SFT adapter and one adapter per
# style-plan recipe, trained with the same preset and data, then base model + card prompt vs all of them on
# the persona's held-out test lines (respond and rewrite tasks, distinct inputs, paired bootstrap intervals).
# Writes one markdown table per persona to stdout; logs to stderr.
#   tools/distill/eval_bundled.sh [PERSONA ...]      (default: every bundled persona)
# Env: KOTODAMA (the binary; default target/debug/kotodama), PRESET (quick), STEPS (the preset's),
# EXAMPLES (test examples of each task per system, 100), VARIANTS (vanilla step-by-step plan-dropout),
# DPO_AFTER (a variant: right after its SFT adapter, the DPO stage trains from it and gets its own row;
# empty for none; default step-by-step, the paper's CoT-shared DPO), KOTODAMA_HOME (a fresh data folder
# is made when unset; it needs the default models installed: `kotodama models install ...` as `make run` does).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
KOTODAMA="${KOTODAMA:-$ROOT/target/debug/kotodama}"
PRESET="${PRESET:-quick}"; EXAMPLES="${EXAMPLES:-100}"
read -r -a variants <<< "${VARIANTS:-vanilla step-by-step plan-dropout}"
DPO_AFTER="${DPO_AFTER-step-by-step}"
personas=("$@"); [[ ${#personas[@]} -gt 0 ]] || personas=(mikoto ririka tsubaki)
steps=(); [[ -n "${STEPS:-}" ]] && steps=(--steps "$STEPS")
for persona in "${personas[@]}"; do
  for variant in "${variants[@]}"; do
    start=$SECONDS
    "$KOTODAMA" distill "$persona" --preset "$PRESET" --variant "$variant" "${steps[@]}" >&2
    echo "$persona $variant: $((SECONDS - start)) s wall" >&2
    if [[ "$variant" == "$DPO_AFTER" ]]; then
      # --stage dpo starts from the persona's newest SFT adapter: the one just trained.
      start=$SECONDS
      "$KOTODAMA" distill "$persona" --preset "$PRESET" --stage dpo "${steps[@]}" >&2
      echo "$persona dpo after $variant: $((SECONDS - start)) s wall" >&2
    fi
  done
  echo "### $persona ($PRESET preset, $EXAMPLES test examples per system)"
  "$KOTODAMA" eval "$persona" --examples "$EXAMPLES"
  echo
done
