#!/usr/bin/env bash
# Minimises each target's local corpus (fuzz/corpus/<target>, grown by tools/fuzz/run.sh) with
# `cargo fuzz cmin` and packs it, reproducibly, as fuzz/corpora/<target>.tar.gz (committed; thousands of
# small inputs are one file in the repository). run.sh unpacks it into an empty local corpus: a fresh
# clone starts the campaign where the last one left its coverage.
#   tools/fuzz/minimise.sh [TARGET ...]   (default: every target with a local corpus)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT/fuzz"
TARGETS=("$@")
[[ ${#TARGETS[@]} -gt 0 ]] || mapfile -t TARGETS < <(ls corpus 2>/dev/null)
for t in "${TARGETS[@]}"; do
  [[ -d "corpus/$t" ]] || { echo "$t: no corpus (run tools/fuzz/run.sh first)"; continue; }
  # Coverage is all cmin reads: no sanitizer needed.
  RUSTC_BOOTSTRAP=1 cargo fuzz cmin -s none "$t" "corpus/$t" >"/tmp/fuzz-cmin-$t.log" 2>&1
  mkdir -p corpora
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "corpus/$t" -cf - . | gzip -n -9 >"corpora/$t.tar.gz"
  echo "$t: $(ls "corpus/$t" | wc -l) inputs, corpora/$t.tar.gz $(du -h --apparent-size "corpora/$t.tar.gz" | cut -f1)"
done
