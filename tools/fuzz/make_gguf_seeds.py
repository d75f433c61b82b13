#!/usr/bin/env python3
"""Writes the committed seed inputs of the gguf_header fuzz target (fuzz/seeds/gguf_header/): small but
complete GGUF headers whose vocabularies build a tokenizer, so the fuzzer starts from inputs that reach
the metadata, tensor-info and tokenizer code instead of discovering the format byte by byte.

  python3 tools/fuzz/make_gguf_seeds.py [OUT_DIR]   (default: fuzz/seeds/gguf_header)

- byte_level_bpe.gguf: a gpt2-style vocabulary (256 byte tokens, a few merges, two special tokens)
  and one small F32 tensor;
- sentencepiece.gguf: a llama-style vocabulary (pieces with scores, byte fallbacks for ASCII).
"""
import os
import struct
import sys

U32, I32, F32, BOOL, STRING, ARRAY, U64 = 4, 5, 6, 7, 8, 9, 10


def string(text):
    data = text.encode()
    return struct.pack("<Q", len(data)) + data


class Header:
    def __init__(self):
        self.pairs = []
        self.tensors = []
        self.data = b""

    def put(self, key, kind, payload):
        self.pairs.append(string(key) + struct.pack("<I", kind) + payload)

    def u32(self, key, value):
        self.put(key, U32, struct.pack("<I", value))

    def f32(self, key, value):
        self.put(key, F32, struct.pack("<f", value))

    def str(self, key, value):
        self.put(key, STRING, string(value))

    def bool(self, key, value):
        self.put(key, BOOL, struct.pack("<B", value))

    def strings(self, key, items):
        self.put(key, ARRAY, struct.pack("<IQ", STRING, len(items)) + b"".join(string(x) for x in items))

    def i32s(self, key, items):
        self.put(key, ARRAY, struct.pack("<IQ", I32, len(items)) + b"".join(struct.pack("<i", x) for x in items))

    def f32s(self, key, items):
        self.put(key, ARRAY, struct.pack("<IQ", F32, len(items)) + b"".join(struct.pack("<f", x) for x in items))

    def f32_tensor(self, name, values):
        """An F32 tensor of len(values) values."""
        self.tensors.append(
            string(name) + struct.pack("<IQ", 1, len(values)) + struct.pack("<IQ", 0, len(self.data)))
        self.data += b"".join(struct.pack("<f", v) for v in values)

    def bytes(self):
        head = b"GGUF" + struct.pack("<IQQ", 3, len(self.tensors), len(self.pairs))
        body = head + b"".join(self.pairs) + b"".join(self.tensors)
        return body + b"\0" * (-len(body) % 32) + self.data


def byte_char(b):
    """GPT-2's byte -> printable character map."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    if b in printable:
        return chr(b)
    return chr(256 + [x for x in range(256) if x not in printable].index(b))


def byte_level_bpe():
    h = Header()
    h.str("general.architecture", "llama")
    h.u32("llama.context_length", 64)
    h.u32("llama.embedding_length", 32)
    h.u32("llama.block_count", 1)
    h.str("tokenizer.ggml.model", "gpt2")
    h.str("tokenizer.ggml.pre", "smollm")
    merges = ["H e", "l l", "He ll", "o ,", "Ġ w", "o r"]
    tokens = [byte_char(b) for b in range(256)] + [m.replace(" ", "") for m in merges]
    tokens += ["<|im_start|>", "<|im_end|>"]
    h.strings("tokenizer.ggml.tokens", tokens)
    h.i32s("tokenizer.ggml.token_type", [1] * (len(tokens) - 2) + [3, 3])
    h.strings("tokenizer.ggml.merges", merges)
    h.u32("tokenizer.ggml.eos_token_id", len(tokens) - 1)
    h.f32_tensor("output_norm.weight", [1.0] * 32)
    return h.bytes()


def sentencepiece():
    h = Header()
    h.str("general.architecture", "llama")
    h.str("tokenizer.ggml.model", "llama")
    pieces = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(0x20, 0x7F)]
    words = ["▁", "▁H", "ello", "▁Hello", "▁w", "orld", "▁world", "!", "▁日本", "語", "e", "l", "o"]
    pieces += words
    h.strings("tokenizer.ggml.tokens", pieces)
    h.f32s("tokenizer.ggml.scores", [0.0] * 3 + [0.0] * (0x7F - 0x20) + [-float(i) for i in range(len(words))])
    h.i32s("tokenizer.ggml.token_type", [2, 3, 3] + [6] * (0x7F - 0x20) + [1] * len(words))
    h.u32("tokenizer.ggml.bos_token_id", 1)
    h.u32("tokenizer.ggml.eos_token_id", 2)
    h.bool("tokenizer.ggml.add_space_prefix", True)
    return h.bytes()


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(__file__), "..", "..", "fuzz", "seeds", "gguf_header")
    os.makedirs(out, exist_ok=True)
    for name, data in [("byte_level_bpe.gguf", byte_level_bpe()), ("sentencepiece.gguf", sentencepiece())]:
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        print(f"{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
