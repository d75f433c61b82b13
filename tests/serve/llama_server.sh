#!/usr/bin/env bash
# A chat through llama.cpp's own server: llama-server serves SmolLM2 on loopback, a temporary data
# folder chooses it as its served chat model, and `kotodama chats say` streams replies from it, the
# guard and style meter on. Not in `make test` (building llama.cpp takes about 15 minutes on 2 cores):
#   tests/serve/llama_server.sh   (needs KOTODAMA_SMOLLM2_GGUF and a workspace build)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BIN="$ROOT/target/debug/kotodama"
LLAMA_BIN="$("$ROOT/tools/engine/llama_cpp.sh")"
[[ -x "$BIN" ]] || { echo "missing $BIN: run make build first" >&2; exit 1; }
[[ -f "${KOTODAMA_SMOLLM2_GGUF:-}" ]] || { echo "KOTODAMA_SMOLLM2_GGUF is not set or missing" >&2; exit 1; }
export KOTODAMA_HOME="$(mktemp -d)"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cleanup() { [[ -n "${PID:-}" ]] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$KOTODAMA_HOME"; }
trap cleanup EXIT
# --no-repack: on a CPU that reports AMX where the kernel does not grant its tiles, llama.cpp's AMX
# buffers crash at the first matmul (seen on this project's 2-core machines).
"$LLAMA_BIN/llama-server" -m "$KOTODAMA_SMOLLM2_GGUF" --host 127.0.0.1 --port "$PORT" -c 4096 -t 2 \
  --no-repack --alias smollm2 >"$KOTODAMA_HOME/llama-server.log" 2>&1 &
PID=$!
for _ in $(seq 300); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.2; done
curl -sf "http://127.0.0.1:$PORT/health" >/dev/null || { tail "$KOTODAMA_HOME/llama-server.log" >&2; exit 1; }
# No key is needed on loopback; no session bus, so the keyring is not asked.
DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent "$BIN" models remote "http://127.0.0.1:$PORT" smollm2 --context 4096
[[ "$("$BIN" models list)" == *"chats answer with smollm2"* ]]
chat=$("$BIN" chats new tsubaki | sed -n 's/^chat \([0-9]*\) .*/\1/p')
for line in "Good evening! What are you reading?" "Why do you carry a sword?" "Tell me about the town."; do
  start=$(date +%s.%N)
  reply=$(DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent "$BIN" chats say "$chat" "$line")
  printf '%-40s %5.1f s  %s\n' "$line" "$(echo "$(date +%s.%N) - $start" | bc)" "${reply:0:100}"
  [[ -n "${reply// /}" ]]
done
"$BIN" chats show "$chat" | tail -n 4
echo "ok  three replies through llama-server"
