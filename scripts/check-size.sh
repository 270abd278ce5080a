#!/usr/bin/env bash
# Fails when a tracked source file (C++, TypeScript) is longer than 600 lines: past that a file
# does more than one thing (docs/DECISIONS.md, "Small units"). Fuzz corpora are data, not code.
set -euo pipefail
cd "$(dirname "$0")/.."
limit=600
status=0
while IFS= read -r f; do
  n=$(wc -l < "$f")
  if [ "$n" -gt "$limit" ]; then
    echo "size: $f has $n lines (limit $limit); split it by concern" >&2
    status=1
  fi
done < <(git ls-files '*.cpp' '*.hpp' '*.ts' '*.tsx' | grep -v '^tests/fuzz/corpus/')
[ "$status" -eq 0 ] && echo "size: every source file within $limit lines"
exit "$status"
