#!/usr/bin/env bash
# Records llama.cpp's greedy token ids (first 20 tokens) and prompt tokenization for fixed chat prompts on
# SmolLM2-135M-Instruct into crates/engine/tests/fixtures/smollm2_llama_cpp.json, through llama-server's
# /tokenize and /completion endpoints (temperature 0, top-k 1).
#   tools/engine/record_fixtures.sh path/to/SmolLM2-135M-Instruct.Q4_1.gguf
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
MODEL="${1:?usage: $0 MODEL.gguf}"
BIN="${LLAMA_BIN:-$("$ROOT/tools/engine/llama_cpp.sh")}"
PORT="${PORT:-18089}"
"$BIN/llama-server" -m "$MODEL" --port "$PORT" --host 127.0.0.1 -t 2 -c 2048 --no-warmup >/tmp/llama-server.log 2>&1 &
SERVER=$!
trap 'kill $SERVER' EXIT
for _ in $(seq 60); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 1; done
OUT="$ROOT/crates/engine/tests/fixtures/smollm2_llama_cpp.json"
mkdir -p "$(dirname "$OUT")"
python3 - "$PORT" "$OUT" "$MODEL" <<'PY'
import json, sys, urllib.request, os
port, out, model = sys.argv[1], sys.argv[2], sys.argv[3]
def post(path, body):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", json.dumps(body).encode(), {"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req))
prompts = [
    "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n",
    "<|im_start|>user\nWrite a haiku about the sea.<|im_end|>\n<|im_start|>assistant\n",
    "<|im_start|>system\nYou are Aki, a cheerful baker.<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n",
]
cases = []
for p in prompts:
    ids = post("/tokenize", {"content": p, "add_special": False, "parse_special": True})["tokens"]
    r = post("/completion", {"prompt": ids, "n_predict": 20, "temperature": 0, "top_k": 1, "samplers": ["top_k"],
                             "cache_prompt": False, "return_tokens": True, "ignore_eos": True})
    cases.append({"prompt": p, "prompt_ids": ids, "greedy_ids": r["tokens"][:20]})
json.dump({"model": os.path.basename(model), "recorded_with": "tools/engine/record_fixtures.sh (llama.cpp from llama-cpp-python==0.3.36)", "cases": cases}, open(out, "w"), indent=1)
print(out)
PY
