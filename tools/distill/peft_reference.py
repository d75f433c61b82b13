"""LoRA training throughput of PyTorch + PEFT on CPU: the reference side of bench_vs_peft.sh.

Reads the file that `kotodama bench train --reference-out FILE` writes (the model path, the LoRA and
optimizer settings, the token sequences with their target masks) and trains the same steps on the same
sequences: one sequence per forward pass, `gradAccum` sequences per optimizer step, AdamW, loss summed
over the target tokens only, logits computed only at the target positions (as kotodama does).
Prints one JSON object.
"""
import argparse
import json
import math
import os
import resource
import time

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("input")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    args = ap.parse_args()
    with open(args.input) as f:
        data = json.load(f)
    cfg, examples = data["config"], data["examples"]
    torch.set_num_threads(args.threads)
    torch.manual_seed(cfg["seed"])

    path = data["model"]
    model = AutoModelForCausalLM.from_pretrained(
        os.path.dirname(path), gguf_file=os.path.basename(path), torch_dtype=torch.float32
    )
    model = get_peft_model(
        model,
        LoraConfig(
            r=cfg["rank"],
            lora_alpha=cfg["alpha"],
            target_modules=cfg["targets"],
            lora_dropout=cfg.get("loraDropout", 0.0),
            bias="none",
            task_type="CAUSAL_LM",
        ),
    )
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(
        params, lr=cfg["learningRate"], weight_decay=cfg["weightDecay"], betas=(0.9, 0.999), eps=1e-8
    )
    warmup, total = cfg["warmupSteps"], cfg["totalSteps"]

    def lr_factor(step):
        if step < warmup:
            return (step + 1) / warmup
        progress = min((step - warmup) / max(total - warmup, 1), 1.0)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_factor)
    accum = cfg["gradAccum"]
    losses = []
    started = time.perf_counter()
    for step in range(total):
        batch = examples[step * accum : (step + 1) * accum]
        step_targets = sum(sum(ex["targets"][1:]) for ex in batch)
        loss_sum = 0.0
        for ex in batch:
            ids = torch.tensor(ex["ids"][:-1]).unsqueeze(0)
            positions = [i - 1 for i in range(1, len(ex["ids"])) if ex["targets"][i]]
            if not positions:
                continue
            labels = torch.tensor([ex["ids"][p + 1] for p in positions])
            logits = model(input_ids=ids, logits_to_keep=torch.tensor(positions)).logits[0]
            loss = torch.nn.functional.cross_entropy(logits, labels, reduction="sum")
            (loss / step_targets).backward()
            loss_sum += loss.item()
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        losses.append(loss_sum / max(step_targets, 1))
    seconds = time.perf_counter() - started
    tokens = sum(len(ex["ids"]) for ex in examples[: total * accum])
    print(
        json.dumps(
            {
                "torch": torch.__version__,
                "threads": torch.get_num_threads(),
                "sequenceTokens": tokens,
                "seconds": seconds,
                "sequenceTokensPerSecond": tokens / seconds,
                "losses": losses,
                "peakRssBytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            }
        )
    )


if __name__ == "__main__":
    main()
