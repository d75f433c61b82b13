#!/usr/bin/env bash
# `kotodama serve` driven by the official `openai` Python client over loopback: the CLI binary of the
# workspace build serves a temporary data folder (bundled personas, SmolLM2 as the chat model).
# Then a second data folder chooses that server as its chat model, the token kept in a real Secret
# Service (gnome-keyring in a private D-Bus session), and chats through it from a new process.
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
CLIENT_HOME="$(mktemp -d)"
LOG="$HOME_DIR/serve.log"
cleanup() { [[ -n "${PID:-}" ]] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$HOME_DIR" "$CLIENT_HOME"; }
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

echo "== a served model as the chat backend, its key in the system keyring"
command -v dbus-run-session >/dev/null && command -v gnome-keyring-daemon >/dev/null \
  || { echo "missing dbus-run-session or gnome-keyring-daemon (make test-deps installs them)" >&2; exit 1; }
KOTODAMA_HOME="$CLIENT_HOME" BIN="$BIN" PORT="$PORT" TOKEN="$TOKEN" dbus-run-session -- bash -euo pipefail -c '
  # A keyring of its own (a new login keyring, unlocked by this password), not the user'"'"'s.
  export XDG_DATA_HOME="$KOTODAMA_HOME/xdg-data"
  echo -n test-password | gnome-keyring-daemon --unlock --components=secrets >/dev/null
  chose=$(KOTODAMA_API_KEY="$TOKEN" "$BIN" models remote "http://127.0.0.1:$PORT/v1" tsubaki --context 2048)
  echo "$chose"
  [[ "$chose" == *"API key: in the system keyring"* ]]
  listed=$("$BIN" models list)
  [[ "$listed" == *"chats answer with tsubaki at http://127.0.0.1:$PORT/v1"* ]]
  chat=$("$BIN" chats new tsubaki | sed -n "s/^chat \([0-9]*\) .*/\1/p")
  # A new process: the key comes back from the keyring, or the server answers 401.
  reply=$("$BIN" chats say "$chat" "Good evening! What are you reading?")
  echo "reply through the server: ${reply:0:120}"
  [[ -n "${reply// /}" ]]
  [[ "$("$BIN" models remote --off)" == *"installed chat model"* ]]
' 2> >(grep -v "Failed to set fd limit" >&2)
echo "ok  remote backend with the key from the keyring"
