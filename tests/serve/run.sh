#!/usr/bin/env bash
# `kotodama serve` driven by the official `openai` Python client over loopback: the CLI binary of the
# workspace build serves a temporary data folder (bundled personas, SmolLM2 as the chat model).
#   tests/serve/run.sh   (make test runs it after the build; needs KOTODAMA_SMOLLM2_GGUF)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BIN="$ROOT/target/debug/kotodama"
VENV="$ROOT/.cache/openai-venv"
[[ -x "$BIN" ]] || { echo "missing $BIN: run make build first" >&2; exit 1; }
[[ -f "${KOTODAMA_SMOLLM2_GGUF:-}" ]] || { echo "KOTODAMA_SMOLLM2_GGUF is not set or missing (make models provides it)" >&2; exit 1; }
if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c 'import openai' 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet openai==1.109.1
fi
HOME_DIR="$(mktemp -d)"
LOG="$HOME_DIR/serve.log"
cleanup() { [[ -n "${PID:-}" ]] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$HOME_DIR"; }
trap cleanup EXIT
export KOTODAMA_HOME="$HOME_DIR"
"$BIN" models add "$KOTODAMA_SMOLLM2_GGUF" --id smol >/dev/null
"$BIN" models use smol >/dev/null
# Greedy and unguarded, so that a streamed reply can be compared with the whole one.
"$BIN" chats settings tsubaki --temperature 0 --guard off >/dev/null
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
TOKEN="test-token-$RANDOM"
KOTODAMA_SERVE_TOKEN="$TOKEN" "$BIN" serve --addr "127.0.0.1:$PORT" --max-requests 1 >"$LOG" 2>&1 &
PID=$!
for _ in $(seq 100); do grep -q "serving" "$LOG" 2>/dev/null && break; sleep 0.1; done
grep -q "serving" "$LOG" || { cat "$LOG" >&2; exit 1; }
"$VENV/bin/python" "$ROOT/tests/serve/test_openai_client.py" "http://127.0.0.1:$PORT/v1" "$TOKEN"
