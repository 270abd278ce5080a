#!/usr/bin/env bash
# Fails when a C++ file differs from .clang-format. `scripts/check-format.sh --fix` rewrites them.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.cpp' '*.hpp')
if [ "${1:-}" = "--fix" ]; then
  clang-format -i "${files[@]}"
  exit 0
fi
if ! clang-format --dry-run --Werror "${files[@]}" 2>/tmp/m-format.$$; then
  head -20 /tmp/m-format.$$ >&2
  rm -f /tmp/m-format.$$
  echo "format: files differ from .clang-format; run scripts/check-format.sh --fix" >&2
  exit 1
fi
rm -f /tmp/m-format.$$
echo "format: ${#files[@]} files clean"
