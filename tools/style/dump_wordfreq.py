#!/usr/bin/env python3
"""Writes wordfreq's Japanese and Chinese word frequencies as `word<TAB>frequency` lines
(OUTDIR/ja.tsv, OUTDIR/zh.tsv), the input of `train-trait-background`. Not an asset itself:
the trait background keeps only the summed rates of the marker words.

pip install wordfreq==3.1.1 msgpack && python3 tools/style/dump_wordfreq.py /tmp/wordfreq
"""
import os
import sys

import wordfreq


def main() -> None:
    out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/wordfreq"
    os.makedirs(out, exist_ok=True)
    for lang in ("ja", "zh"):
        freqs = wordfreq.get_frequency_dict(lang, wordlist="large")
        path = os.path.join(out, f"{lang}.tsv")
        with open(path, "w", encoding="utf-8") as f:
            for word, freq in sorted(freqs.items(), key=lambda kv: (-kv[1], kv[0])):
                f.write(f"{word}\t{freq:.6e}\n")
        print(f"{path}: {len(freqs)} words", file=sys.stderr)


if __name__ == "__main__":
    main()
