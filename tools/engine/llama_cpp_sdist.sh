#!/usr/bin/env bash
# Downloads the PyPI source package llama-cpp-python==0.3.36 (it vendors llama.cpp) into $1/sdist,
# checked against the sha256 PyPI's index publishes, and prints the tarball's path. Idempotent.
#   tools/engine/llama_cpp_sdist.sh DIR
set -euo pipefail
dir="$1/sdist"
tarball="$dir/llama_cpp_python-0.3.36.tar.gz"
if [[ ! -f "$tarball" ]]; then
  # The sdist only: `pip download` would build its build dependencies from source first.
  url="$(curl -sf https://pypi.org/simple/llama-cpp-python/ | grep -o "https://[^\"]*llama_cpp_python-0.3.36.tar.gz#sha256=[0-9a-f]*" | head -1)"
  mkdir -p "$dir" && curl -sfL "${url%%#*}" -o "$tarball.part"
  echo "${url##*sha256=}  $tarball.part" | sha256sum -c - >&2
  mv "$tarball.part" "$tarball"
fi
echo "$tarball"
