#!/usr/bin/env bash
# Minimises each target's local corpus (fuzz/corpus/<target>, grown by tools/fuzz/run.sh) with
# `cargo fuzz cmin` and keeps the result as its committed seeds (fuzz/seeds/<target>), which run.sh
# feeds back in: a fresh clone starts the campaign where the last one left its coverage.
#   tools/fuzz/minimise.sh [TARGET ...]   (default: every target with a local corpus)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT/fuzz"
TARGETS=("$@")
[[ ${#TARGETS[@]} -gt 0 ]] || mapfile -t TARGETS < <(ls corpus 2>/dev/null)
for t in "${TARGETS[@]}"; do
  [[ -d "corpus/$t" ]] || { echo "$t: no corpus (run tools/fuzz/run.sh first)"; continue; }
  # The committed seeds join the corpus, so that what only they cover is kept.
  [[ -d "seeds/$t" ]] && cp -n "seeds/$t"/* "corpus/$t"/ 2>/dev/null || true
  RUSTC_BOOTSTRAP=1 cargo fuzz cmin "$t" "corpus/$t" >"/tmp/fuzz-cmin-$t.log" 2>&1
  rm -rf "seeds/$t" && mkdir -p "seeds/$t" && cp "corpus/$t"/* "seeds/$t"/
  echo "$t: $(ls "seeds/$t" | wc -l) inputs, $(du -sh "seeds/$t" | cut -f1)"
done
