#!/usr/bin/env bash
# Runs the cargo-fuzz targets in fuzz/ for a while each and prints what ran, for how long, and the result.
#   tools/fuzz/run.sh [SECONDS per target (default 120)] [TARGET ...]   (default: every target)
# cargo-fuzz needs nightly features; RUSTC_BOOTSTRAP lets the machine's stable toolchain build them.
# Crashing inputs land in fuzz/artifacts/<target>/.
# Targets whose code is safe Rust all the way (the style analyzer, the server's request parsing) run
# without AddressSanitizer, which finds nothing there and costs two to three times the speed; the
# others (PNG, zip, GGUF and tokenizer code near the engine's unsafe kernels) keep it.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
SECONDS_EACH="${1:-120}"; shift || true
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
cd "$ROOT/fuzz"
TARGETS=("$@")
[[ ${#TARGETS[@]} -gt 0 ]] || mapfile -t TARGETS < <(ls fuzz_targets | sed 's/\.rs$//')
for t in "${TARGETS[@]}"; do
  mkdir -p "corpus/$t"
  # The last campaign's minimised corpus (tools/fuzz/minimise.sh), unpacked into an empty one.
  if [[ -z "$(ls -A "corpus/$t")" && -f "corpora/$t.tar.gz" ]]; then tar -xzf "corpora/$t.tar.gz" -C "corpus/$t"; fi
  start=$(date +%s)
  # The committed seeds (tools/fuzz/make_gguf_seeds.py) join the local corpus as read-only inputs.
  seeds=(); [[ -d "seeds/$t" ]] && seeds=("seeds/$t")
  case "$t" in analyze|style_score|tokenize|server_request|world_info) sanitizer=none ;; *) sanitizer=address ;; esac
  if RUSTC_BOOTSTRAP=1 cargo fuzz run -s "$sanitizer" "$t" "corpus/$t" "${seeds[@]}" -- -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 \
      >"/tmp/fuzz-$t.log" 2>&1; then result=ok; else result="FAILED (see /tmp/fuzz-$t.log, fuzz/artifacts/$t)"; fi
  runs=$(grep -o 'Done [0-9]* runs' "/tmp/fuzz-$t.log" | grep -o '[0-9][0-9]*' || echo "?")
  echo "$t ($sanitizer): $(( $(date +%s) - start )) s, $runs executions, $result"
done
