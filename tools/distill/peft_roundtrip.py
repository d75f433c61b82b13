"""The PyTorch + PEFT side of the round trip (tools/distill/peft_roundtrip.sh): an adapter trained
elsewhere on `kotodama dataset export` data comes back into kotodama with the same logits.

Loads the student from its GGUF (transformers dequantizes it to f32), saves that f32 model in the
Hugging Face layout (the reference both sides run), trains a LoRA adapter for a few steps on the
exported conversations (the chat template renders them; the loss covers the assistant's turn), saves
it in PEFT's layout, and writes the adapter's logits for one exported conversation.
"""
import argparse
import json
import os

import torch
from peft import LoraConfig, get_peft_model
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM, AutoTokenizer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("gguf")
    ap.add_argument("train_jsonl")
    ap.add_argument("out")
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    folder, name = os.path.dirname(args.gguf), os.path.basename(args.gguf)
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, torch_dtype=torch.float32)
    # transformers refuses to save a model it loaded from a GGUF: the f32 weights and config go out by
    # hand (a tied output layer is the embedding, written once under its own name).
    base_dir = os.path.join(args.out, "base")
    os.makedirs(base_dir, exist_ok=True)
    weights = model.state_dict()
    if model.config.tie_word_embeddings:
        weights.pop("lm_head.weight", None)
    save_file({k: v.contiguous() for k, v in weights.items()}, os.path.join(base_dir, "model.safetensors"))
    config = model.config.to_dict()
    config.pop("quantization_config", None)
    with open(os.path.join(base_dir, "config.json"), "w") as f:
        json.dump(config, f)
    tokenizer.save_pretrained(base_dir)

    with open(args.train_jsonl) as f:
        rows = [json.loads(line) for line in f][: 4 * args.steps + 1]

    def encode(messages):
        # Rendered to text, then encoded, as kotodama does.
        ids = lambda text: tokenizer(text, add_special_tokens=False)["input_ids"]
        prompt = tokenizer.apply_chat_template(messages[:-1], add_generation_prompt=True, tokenize=False)
        full = tokenizer.apply_chat_template(messages, tokenize=False)
        return ids(full), len(ids(prompt))

    model = get_peft_model(
        model,
        LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
                   lora_dropout=0.0, bias="none", task_type="CAUSAL_LM"),
    )
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=5e-3)
    model.train()
    losses = []
    for step in range(args.steps):
        total = 0.0
        for row in rows[4 * step : 4 * step + 4]:
            ids, prompt_len = encode(row["messages"])
            labels = [-100] * prompt_len + ids[prompt_len:]
            out = model(input_ids=torch.tensor([ids]), labels=torch.tensor([labels]))
            (out.loss / 4).backward()
            total += out.loss.item() / 4
        opt.step()
        opt.zero_grad(set_to_none=True)
        losses.append(total)
    adapter_dir = os.path.join(args.out, "adapter")
    model.save_pretrained(adapter_dir)

    model.eval()
    probe, _ = encode(rows[-1]["messages"])
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([probe])).logits[0]
        with model.disable_adapter():
            base_logits = model(input_ids=torch.tensor([probe])).logits[0]
    with open(os.path.join(args.out, "logits.json"), "w") as f:
        json.dump(
            {"ids": probe, "logits": logits[-8:].tolist(), "baseLogits": base_logits[-8:].tolist(),
             "losses": losses},
            f,
        )
    print(json.dumps({"torch": torch.__version__, "losses": losses, "probeTokens": len(probe)}))


if __name__ == "__main__":
    main()
