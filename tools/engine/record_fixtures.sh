#!/usr/bin/env bash
# Records llama.cpp's greedy token ids (first 20 tokens) and prompt tokenization for fixed chat prompts on
# SmolLM2-135M-Instruct into crates/engine/tests/fixtures/smollm2_llama_cpp.json, through llama-server's
# /tokenize and /completion endpoints (temperature 0, top-k 1, f32 KV cache like ours).
# The weights are the Q4_1 file dequantized to F32 by llama-quantize: on quantized weights both engines
# also quantize the activations (Q8_1/Q8_0), and any rounding difference moves logits by up to ~0.5, so
# near-ties there are decided by arithmetic details; on F32 weights the two agree within ~0.005.
#   tools/engine/record_fixtures.sh path/to/SmolLM2-135M-Instruct.Q4_1.gguf
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
QUANTIZED="${1:?usage: $0 MODEL.gguf}"
BIN="${LLAMA_BIN:-$("$ROOT/tools/engine/llama_cpp.sh")}"
PORT="${PORT:-18089}"
WORK="$(mktemp -d)"
MODEL="$WORK/$(basename "${QUANTIZED%.gguf}").F32.gguf"
"$BIN/llama-quantize" --allow-requantize "$QUANTIZED" "$MODEL" F32 >"$WORK/quantize.log" 2>&1
"$BIN/llama-server" -m "$MODEL" --port "$PORT" --host 127.0.0.1 -t 2 -c 2048 --no-warmup \
  --cache-type-k f32 --cache-type-v f32 >/tmp/llama-server.log 2>&1 &
SERVER=$!
trap 'kill $SERVER; rm -rf "$WORK"' EXIT
for _ in $(seq 60); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 1; done
OUT="${OUT:-$ROOT/crates/engine/tests/fixtures/smollm2_llama_cpp.json}"
mkdir -p "$(dirname "$OUT")"
python3 - "$PORT" "$OUT" "$QUANTIZED" <<'PY'
import json, sys, urllib.request, os
port, out, model = sys.argv[1], sys.argv[2], sys.argv[3]
def post(path, body):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", json.dumps(body).encode(), {"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req))
prompts = [
    "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nExplain how bread is made, step by step.<|im_end|>\n<|im_start|>assistant\n",
    "<|im_start|>user\nTell me a short story about a dragon who loves tea.<|im_end|>\n<|im_start|>assistant\n",
    "<|im_start|>system\nYou are Aki, a cheerful baker.<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n",
]
cases = []
for p in prompts:
    ids = post("/tokenize", {"content": p, "add_special": False, "parse_special": True})["tokens"]
    r = post("/completion", {"prompt": ids, "n_predict": 20, "temperature": 0, "top_k": 1, "samplers": ["top_k"],
                             "cache_prompt": False, "return_tokens": True})
    cases.append({"prompt": p, "prompt_ids": ids, "greedy_ids": r["tokens"][:20]})
json.dump({"model": os.path.basename(model) + " dequantized to F32", "recorded_with": "tools/engine/record_fixtures.sh (llama.cpp from llama-cpp-python==0.3.36)", "cases": cases}, open(out, "w"), indent=1)
print(out)
PY
