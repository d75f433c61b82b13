# Sourced by the PEFT scripts: PyTorch + PEFT (tools/distill/requirements-peft.txt) in
# .cache/peft-venv, installed on first use; sets PEFT_PYTHON to its interpreter.
PEFT_VENV="$ROOT/.cache/peft-venv"
if ! "$PEFT_VENV/bin/python" -c 'import torch, transformers, peft, gguf' 2>/dev/null; then
  python3 -m venv "$PEFT_VENV"
  "$PEFT_VENV/bin/pip" install -q -r "$ROOT/tools/distill/requirements-peft.txt"
fi
PEFT_PYTHON="$PEFT_VENV/bin/python"
