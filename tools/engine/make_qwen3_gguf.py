#!/usr/bin/env python3
"""Writes a Qwen3-shaped GGUF with random Q4_K weights (norms in F32) and the real Qwen3 tokenizer
(vocabulary + merges from a HF tokenizer.json), for benchmarking kotodama against llama.cpp.

  python3 tools/engine/make_qwen3_gguf.py TOKENIZER.json OUT.gguf [--shape 0.6b|1.7b]

Q4_K block (256 weights, 144 bytes): f16 d, f16 dmin, 12 bytes of 6-bit scales/mins, 128 bytes of nibbles.
Random nibbles with small d/dmin give weights of a plausible magnitude; the output is noise, the speed real.
"""
import json, os, struct, sys

SHAPES = {  # hidden, layers, heads, kv_heads, head_dim, intermediate
    "0.6b": (1024, 28, 16, 8, 128, 3072),
    "1.7b": (2048, 28, 16, 8, 128, 6144),
}
F32, Q4_K = 0, 12


def main():
    tok_path, out = sys.argv[1], sys.argv[2]
    shape = sys.argv[sys.argv.index("--shape") + 1] if "--shape" in sys.argv else "0.6b"
    hidden, layers, heads, kv, hd, inter = SHAPES[shape]
    tok = json.load(open(tok_path))
    vocab = sorted(((i, t, 1) for t, i in tok["model"]["vocab"].items()))
    vocab += [(a["id"], a["content"], 3 if a["special"] else 4) for a in tok["added_tokens"]]
    vocab.sort()
    merges = [m if isinstance(m, str) else " ".join(m) for m in tok["model"]["merges"]]
    n_vocab = len(vocab)

    def s(x):
        b = x.encode()
        return struct.pack("<Q", len(b)) + b

    kv_pairs = []
    def put(key, typ, payload):
        kv_pairs.append(s(key) + struct.pack("<I", typ) + payload)
    u32 = lambda k, v: put(k, 4, struct.pack("<I", v))
    f32 = lambda k, v: put(k, 6, struct.pack("<f", v))
    string = lambda k, v: put(k, 8, s(v))
    def str_array(k, items):
        put(k, 9, struct.pack("<IQ", 8, len(items)) + b"".join(s(x) for x in items))
    string("general.architecture", "qwen3")
    string("general.name", f"qwen3-{shape}-shaped-random-q4k")
    u32("general.alignment", 32)
    u32("qwen3.block_count", layers)
    u32("qwen3.context_length", 40960)
    u32("qwen3.embedding_length", hidden)
    u32("qwen3.feed_forward_length", inter)
    u32("qwen3.attention.head_count", heads)
    u32("qwen3.attention.head_count_kv", kv)
    u32("qwen3.attention.key_length", hd)
    u32("qwen3.attention.value_length", hd)
    f32("qwen3.rope.freq_base", 1000000.0)
    f32("qwen3.attention.layer_norm_rms_epsilon", 1e-6)
    string("tokenizer.ggml.model", "gpt2")
    string("tokenizer.ggml.pre", "qwen2")
    str_array("tokenizer.ggml.tokens", [t for _, t, _ in vocab])
    put("tokenizer.ggml.token_type", 9, struct.pack("<IQ", 5, n_vocab) + b"".join(struct.pack("<i", t) for _, _, t in vocab))
    str_array("tokenizer.ggml.merges", merges)
    u32("tokenizer.ggml.eos_token_id", 151645)
    u32("tokenizer.ggml.padding_token_id", 151643)

    tensors = []  # (name, dims ggml order, type)
    tensors.append(("token_embd.weight", (hidden, n_vocab), Q4_K))
    tensors.append(("output_norm.weight", (hidden,), F32))
    for i in range(layers):
        p = f"blk.{i}."
        tensors += [
            (p + "attn_norm.weight", (hidden,), F32), (p + "ffn_norm.weight", (hidden,), F32),
            (p + "attn_q_norm.weight", (hd,), F32), (p + "attn_k_norm.weight", (hd,), F32),
            (p + "attn_q.weight", (hidden, heads * hd), Q4_K), (p + "attn_k.weight", (hidden, kv * hd), Q4_K),
            (p + "attn_v.weight", (hidden, kv * hd), Q4_K), (p + "attn_output.weight", (heads * hd, hidden), Q4_K),
            (p + "ffn_gate.weight", (hidden, inter), Q4_K), (p + "ffn_up.weight", (hidden, inter), Q4_K),
            (p + "ffn_down.weight", (inter, hidden), Q4_K),
        ]

    def nbytes(dims, typ):
        n = 1
        for d in dims:
            n *= d
        return n * 4 if typ == F32 else n // 256 * 144

    infos, offset = [], 0
    for name, dims, typ in tensors:
        infos.append(s(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims) + struct.pack("<IQ", typ, offset))
        offset += (nbytes(dims, typ) + 31) // 32 * 32
    with open(out, "wb") as f:
        f.write(b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kv_pairs)))
        for p in kv_pairs:
            f.write(p)
        for p in infos:
            f.write(p)
        f.write(b"\0" * ((32 - f.tell() % 32) % 32))
        # d = 2^-10, dmin = 2^-11 (f16), scales/mins 6-bit random, nibbles random.
        block_head = struct.pack("<HH", 0x1400, 0x1000)
        for name, dims, typ in tensors:
            n = nbytes(dims, typ)
            if typ == F32:
                f.write(struct.pack("<f", 1.0) * (n // 4))
            else:
                blocks = n // 144
                chunk = 4096
                for start in range(0, blocks, chunk):
                    k = min(chunk, blocks - start)
                    rnd = os.urandom(140 * k)
                    f.write(b"".join(block_head + rnd[j * 140:(j + 1) * 140] for j in range(k)))
            f.write(b"\0" * ((32 - n % 32) % 32))
    print(out, os.path.getsize(out) >> 20, "MiB")


if __name__ == "__main__":
    main()
