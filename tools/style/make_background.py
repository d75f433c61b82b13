#!/usr/bin/env python3
"""Build Kotodama's compact background frequency tables from PyPI wordfreq==3.1.1.

Usage:  pip install wordfreq==3.1.1 msgpack
        python3 tools/style/make_background.py assets/style

wordfreq's large_<lang>.msgpack.gz is one msgpack array: element 0 is a header, element i (i >= 1)
lists the words whose frequency is 10^(-(i-1)/100) ("centibels"). We keep that bucket structure.

English: the most frequent MAX_WORDS words, as words.
Chinese / Japanese: the analyzer works on characters, so we derive character 1- and 2-gram
frequencies from the word list (each word's frequency is spread over the n-grams inside it) and
store those keys instead.

Output format (gzip-compressed), read by crates/style/src/background.rs:
  b"KDBG1\n", then for each bucket b = 0, 1, 2, ...: one line "b<TAB>key<TAB>key...\n"
  (only non-empty buckets are written; a key's frequency is 10^(-b/100)).
"""
import gzip
import math
import os
import sys
from collections import defaultdict

import msgpack
import wordfreq

MAX_WORDS = 120_000
MAX_CJK_KEYS = 60_000


def load(lang):
    path = os.path.join(os.path.dirname(wordfreq.__file__), "data", f"large_{lang}.msgpack.gz")
    with gzip.open(path, "rb") as f:
        data = msgpack.load(f, raw=False, strict_map_key=False)
    return data[1:]  # drop header


def write(path, buckets):
    lines = [b"KDBG1\n"]
    for b, keys in sorted(buckets.items()):
        keys = [k for k in keys if "\t" not in k and "\n" not in k]
        if keys:
            lines.append(("%d\t%s\n" % (b, "\t".join(keys))).encode("utf-8"))
    with open(path, "wb") as f:
        # mtime=0 keeps the artefact byte-reproducible
        f.write(gzip.compress(b"".join(lines), compresslevel=9, mtime=0))
    print(path, os.path.getsize(path), "bytes,", sum(len(v) for v in buckets.values()), "keys")


def english(out):
    buckets, n = {}, 0
    for b, words in enumerate(load("en")):
        if n >= MAX_WORDS:
            break
        take = words[: MAX_WORDS - n]
        buckets[b] = take
        n += len(take)
    write(os.path.join(out, "background_en.bin.gz"), buckets)


def cjk(lang, out):
    freq = defaultdict(float)
    for b, words in enumerate(load(lang)):
        f = 10 ** (-b / 100)
        for w in words:
            chars = [c for c in w if not c.isspace()]
            for n in (1, 2):
                for i in range(len(chars) - n + 1):
                    freq["".join(chars[i : i + n])] += f
    # Normalize unigrams and bigrams separately so that each order sums to 1.
    total = {1: 0.0, 2: 0.0}
    for k, f in freq.items():
        total[len(k)] += f
    ranked = sorted(freq.items(), key=lambda kv: -kv[1])[:MAX_CJK_KEYS]
    buckets = defaultdict(list)
    for k, f in ranked:
        p = f / total[len(k)]
        buckets[max(0, round(-100 * math.log10(p)))].append(k)
    write(os.path.join(out, f"background_{lang}.bin.gz"), buckets)


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else "assets/style"
    os.makedirs(out, exist_ok=True)
    english(out)
    cjk("zh", out)
    cjk("ja", out)
