#!/usr/bin/env python3
"""Build Kotodama's compact background frequency tables from PyPI wordfreq==3.1.1.

Usage:  pip install wordfreq==3.1.1 msgpack
        python3 tools/style/make_background.py assets/style

wordfreq's large_<lang>.msgpack.gz is one msgpack array: element 0 is a header, element i (i >= 1)
lists the words whose frequency is 10^(-(i-1)/100) ("centibels"). We keep that bucket structure.

English: the most frequent MAX_WORDS words. Chinese / Japanese: the most frequent MAX_CJK_WORDS
words. wordfreq's zh and ja lists are already word lists (it segments Chinese with jieba and
Japanese with MeCab + IPADIC, the segmenters the analyzer runs: jieba-rs and vibrato with IPADIC),
so PMI compares a character's words with words of the same kind.

Output format (gzip-compressed), read by crates/style/src/background.rs:
  b"KDBG1\n", then for each bucket b = 0, 1, 2, ...: one line "b<TAB>key<TAB>key...\n"
  (only non-empty buckets are written; a key's frequency is 10^(-b/100)).
"""
import gzip
import os
import sys

import msgpack
import wordfreq

MAX_WORDS = 120_000
MAX_CJK_WORDS = 100_000


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


def most_frequent(lang, limit):
    """wordfreq's buckets, cut after the `limit` most frequent words."""
    buckets, n = {}, 0
    for b, words in enumerate(load(lang)):
        if n >= limit:
            break
        take = words[: limit - n]
        buckets[b] = take
        n += len(take)
    return buckets


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else "assets/style"
    os.makedirs(out, exist_ok=True)
    for lang, limit in (("en", MAX_WORDS), ("zh", MAX_CJK_WORDS), ("ja", MAX_CJK_WORDS)):
        write(os.path.join(out, f"background_{lang}.bin.gz"), most_frequent(lang, limit))
